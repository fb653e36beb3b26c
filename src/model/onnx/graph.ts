/**
 * Small helpers over onnx-proto's generated types: building nodes, initializers and value infos, and reading the
 * numbers protobuf gives back (int64 fields arrive as numbers or Long objects).
 */
import { onnx } from 'onnx-proto';

export { onnx };

export const DataType = onnx.TensorProto.DataType;

export type AttributeValue = number | number[] | string | onnx.ITensorProto | { float: number } | { floats: number[] };

/** Turns plain values into attributes: integers → INT(S), `{ float }` → FLOAT, strings → STRING, tensors → TENSOR. */
export function attribute(name: string, value: AttributeValue): onnx.IAttributeProto {
  const Type = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') return { name, type: Type.INT, i: value };
  if (typeof value === 'string') return { name, type: Type.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: Type.INTS, ints: value };
  if ('float' in value) return { name, type: Type.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: Type.FLOATS, floats: value.floats };
  return { name, type: Type.TENSOR, t: value };
}

export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  name: string,
  attributes: Record<string, AttributeValue> = {},
): onnx.INodeProto {
  return {
    opType,
    input: inputs,
    output: outputs,
    name,
    attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
  };
}

type TensorData = Float32Array | BigInt64Array | Int32Array | Uint8Array | Int8Array;

/** An initializer with little-endian raw data. */
export function tensor(name: string, dataType: number, dims: number[], data: TensorData): onnx.ITensorProto {
  return { name, dataType, dims, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export const int64Tensor = (name: string, values: number[], dims: number[] = [values.length]) =>
  tensor(name, DataType.INT64, dims, BigInt64Array.from(values.map((value) => BigInt(value))));

export const floatTensor = (name: string, values: ArrayLike<number>, dims: number[]) =>
  tensor(name, DataType.FLOAT, dims, Float32Array.from(values));

/** A value info for a tensor of the given element type and shape; strings are symbolic dimensions. */
export function valueInfo(name: string, elemType: number, shape: Array<number | string>): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((dimension) => (typeof dimension === 'number' ? { dimValue: dimension } : { dimParam: dimension })) },
      },
    },
  };
}

/** A protobuf int64 (number or Long) as a number. */
export function toNumber(value: number | { toNumber(): number } | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

export function attributeInt(n: onnx.INodeProto, name: string): number | undefined {
  const found = n.attribute?.find((candidate) => candidate.name === name);
  return found ? toNumber(found.i as number | { toNumber(): number } | null) : undefined;
}

/** The opset version of the default ONNX domain. */
export function defaultOpset(model: onnx.IModelProto): number {
  const entry = model.opsetImport?.find((opset) => !opset.domain || opset.domain === 'ai.onnx');
  return toNumber(entry?.version as number | { toNumber(): number } | null);
}

/**
 * One pass over a graph's nodes, so that no walk scans them all again: which node writes each tensor, which nodes read
 * it, where each node sits in the list, and which tensors are constants (initializers or Constant nodes).
 */
export interface GraphIndex {
  producers: Map<string, onnx.INodeProto>;
  consumers: Map<string, onnx.INodeProto[]>;
  positions: Map<onnx.INodeProto, number>;
  constants: Set<string>;
}

export function indexGraph(graph: onnx.IGraphProto): GraphIndex {
  const producers = new Map<string, onnx.INodeProto>();
  const consumers = new Map<string, onnx.INodeProto[]>();
  const positions = new Map<onnx.INodeProto, number>();
  const constants = new Set((graph.initializer ?? []).map((initializer) => initializer.name ?? ''));
  (graph.node ?? []).forEach((candidate, position) => {
    positions.set(candidate, position);
    for (const output of candidate.output ?? []) {
      if (output === '') continue; // an optional output left out
      producers.set(output, candidate);
      if (candidate.opType === 'Constant') constants.add(output);
    }
    for (const input of new Set(candidate.input ?? [])) {
      if (input === '') continue; // an optional input left out
      const readers = consumers.get(input);
      if (readers) readers.push(candidate);
      else consumers.set(input, [candidate]);
    }
  });
  return { producers, consumers, positions, constants };
}

export function encodeModel(model: onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
