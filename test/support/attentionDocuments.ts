/**
 * Version-1 attention documents (docs/ATTENTION_FORMAT.md) written for tests, independently of the product's own
 * writer (`src/model/tensorExport.ts`): float32 or float16 weights from a seeded generator, self- and
 * cross-attention, and the weights they hold, to compare what a reader returns with.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface SequenceSpec {
  name: string;
  tokens: string[];
  special?: boolean[];
  text?: string;
  offsets?: Array<[number, number]>;
}

export interface AttentionSpec {
  name: string;
  queries: string;
  keys: string;
  layers: number;
  heads: number;
  dtype: 'float32' | 'float16';
  causal?: boolean;
  /** Overrides weights by flat index `[layers, heads, rows, cols]` (a NaN, a negative weight). */
  poke?: Array<[number, number]>;
}

export interface DocumentSpec {
  model?: string | null;
  sequences: SequenceSpec[];
  attentions: AttentionSpec[];
  view?: { tab?: 'model' | 'head' | 'aggregates'; layer?: number; head?: number };
  seed?: number;
}

export interface BuiltDocument {
  /** The document as `JSON.parse` returns it. */
  document: Record<string, unknown>;
  /** Per attention, every weight `[layers, heads, rows, cols]` as the document stores it (float16 ones exactly). */
  weights: Map<string, Float32Array>;
}

/** IEEE 754 binary16 of a number, rounded to nearest (the weights below are exact in binary16 anyway). */
export function floatToHalf(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const abs = Math.abs(value);
  if (abs >= 65520) return sign | 0x7c00;
  if (abs < 2 ** -25) return sign;
  let exponent = Math.floor(Math.log2(abs));
  if (2 ** exponent > abs) exponent -= 1;
  if (2 ** (exponent + 1) <= abs) exponent += 1;
  if (exponent < -14) return sign | Math.round(abs / 2 ** -24);
  let fraction = Math.round((abs / 2 ** exponent - 1) * 1024);
  if (fraction === 1024) {
    fraction = 0;
    exponent += 1;
  }
  if (exponent > 15) return sign | 0x7c00;
  return sign | ((exponent + 15) << 10) | fraction;
}

/** A small seeded generator (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Rows that each sum to about 1, every weight a multiple of 2⁻¹⁰ (exact in float16 and float32), zero above the
 * diagonal for a causal attention.
 */
function weightsOf(spec: AttentionSpec, rows: number, cols: number, next: () => number): Float32Array {
  const out = new Float32Array(spec.layers * spec.heads * rows * cols);
  for (let map = 0; map < spec.layers * spec.heads; map += 1) {
    for (let row = 0; row < rows; row += 1) {
      const width = spec.causal ? Math.min(cols, row + 1) : cols;
      const raw = Array.from({ length: width }, () => next() + 0.05);
      const total = raw.reduce((sum, value) => sum + value, 0);
      raw.forEach((value, col) => (out[(map * rows + row) * cols + col] = Math.round((value / total) * 1024) / 1024));
    }
  }
  for (const [index, value] of spec.poke ?? []) out[index] = value;
  return out;
}

function base64Of(weights: Float32Array, dtype: 'float32' | 'float16'): string {
  const width = dtype === 'float32' ? 4 : 2;
  const bytes = Buffer.alloc(weights.length * width);
  weights.forEach((value, index) => {
    if (dtype === 'float32') bytes.writeFloatLE(value, index * 4);
    else bytes.writeUInt16LE(floatToHalf(value), index * 2);
  });
  return bytes.toString('base64');
}

export function buildAttentionDocument(spec: DocumentSpec): BuiltDocument {
  const next = random(spec.seed ?? 7);
  const lengths = new Map(spec.sequences.map((sequence) => [sequence.name, sequence.tokens.length]));
  const weights = new Map<string, Float32Array>();
  const attentions = spec.attentions.map((attention) => {
    const data = weightsOf(attention, lengths.get(attention.queries) ?? 0, lengths.get(attention.keys) ?? 0, next);
    weights.set(attention.name, data);
    return {
      name: attention.name,
      queries: attention.queries,
      keys: attention.keys,
      layers: attention.layers,
      heads: attention.heads,
      layerIndices: null,
      causal: attention.causal ?? false,
      dtype: attention.dtype,
      data: base64Of(data, attention.dtype),
    };
  });
  const document: Record<string, unknown> = {
    format: 'attention-explorer.attention',
    version: 1,
    model: spec.model ?? null,
    sequences: spec.sequences.map((sequence) => ({ sentenceBStart: null, ...sequence })),
    attentions,
    ...(spec.view ? { view: spec.view } : {}),
  };
  return { document, weights };
}

/** "the cat sat" with [CLS]/[SEP], its offsets and text: one self-attention. */
export function catSequence(name = 'tokens'): SequenceSpec {
  return {
    name,
    tokens: ['[CLS]', 'the', 'cat', 'sat', '[SEP]'],
    special: [true, false, false, false, true],
    text: 'the cat sat',
    offsets: [
      [0, 0],
      [0, 3],
      [4, 7],
      [8, 11],
      [0, 0],
    ],
  };
}

/** An encoder-decoder document: encoder and decoder self-attention, and cross-attention between them. */
export function encoderDecoderDocument(seed = 11): BuiltDocument {
  return buildAttentionDocument({
    model: 't5-small',
    seed,
    sequences: [catSequence('encoder'), { name: 'decoder', tokens: ['<pad>', 'le', 'chat'] }],
    attentions: [
      { name: 'encoder', queries: 'encoder', keys: 'encoder', layers: 2, heads: 3, dtype: 'float32' },
      { name: 'decoder', queries: 'decoder', keys: 'decoder', layers: 2, heads: 3, dtype: 'float16', causal: true },
      { name: 'cross', queries: 'decoder', keys: 'encoder', layers: 2, heads: 3, dtype: 'float32' },
    ],
  });
}

/** Writes a document as a `.attention.json` file; returns its path. */
export function writeAttentionFile(folder: string, name: string, document: unknown): string {
  const file = path.join(folder, name);
  fs.writeFileSync(file, JSON.stringify(document));
  return file;
}
