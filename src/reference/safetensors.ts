/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header naming each tensor's
 * dtype, shape and byte range, then the raw little-endian data. Only what DistilBERT checkpoints use is supported
 * (F32 here; I64/U8 for completeness).
 */
import * as fs from 'node:fs';

export type SafetensorsDtype = 'F32' | 'I64' | 'U8';

export interface NamedTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | BigInt64Array | Uint8Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, I64: 8, U8: 1 };

/** Reads every tensor of a safetensors file. Data are copied out so that they are aligned. */
export function readSafetensors(file: string): Map<string, NamedTensor> {
  const buffer = fs.readFileSync(file);
  if (buffer.length < 8) {
    throw new Error(`${file} is not a safetensors file (too short)`);
  }
  const headerLength = Number(buffer.readBigUInt64LE(0));
  if (headerLength <= 0 || 8 + headerLength > buffer.length) {
    throw new Error(`${file} is not a safetensors file (header length ${headerLength})`);
  }
  const header = JSON.parse(buffer.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, HeaderEntry | Record<string, string>>;
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, NamedTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const {
      dtype,
      shape,
      data_offsets: [start, end],
    } = entry as HeaderEntry;
    if (!(dtype in BYTES)) {
      throw new Error(`${file}: tensor ${name} has unsupported dtype ${dtype}`);
    }
    const count = shape.reduce((product, dimension) => product * dimension, 1);
    if (end - start !== count * BYTES[dtype as SafetensorsDtype] || dataStart + end > buffer.length) {
      throw new Error(`${file}: tensor ${name} has ${end - start} bytes for shape [${shape.join(', ')}]`);
    }
    const bytes = new Uint8Array(buffer.subarray(dataStart + start, dataStart + end));
    const data = dtype === 'F32' ? new Float32Array(bytes.buffer) : dtype === 'I64' ? new BigInt64Array(bytes.buffer) : bytes;
    tensors.set(name, { dtype: dtype as SafetensorsDtype, shape, data });
  }
  return tensors;
}

/** Writes tensors in the given order (offsets follow that order), with `{"format": "pt"}` metadata. */
export function writeSafetensors(file: string, tensors: ReadonlyArray<[string, NamedTensor]>): void {
  const header: Record<string, HeaderEntry | Record<string, string>> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const length = tensor.data.byteLength;
    header[name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data start 8-byte aligned, as the reference implementation does.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, prefix);
    fs.writeSync(fd, headerBytes);
    for (const [, tensor] of tensors) {
      fs.writeSync(fd, new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
    }
  } finally {
    fs.closeSync(fd);
  }
}
