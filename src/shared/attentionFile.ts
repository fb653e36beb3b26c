/**
 * The attention file format (docs/ATTENTION_FORMAT.md), read: the data of the notebook output MIME type and of
 * `.attention.json` files, written by the Python package and by the panel's tensor export. A document is checked
 * against every rule of the format and its tensors decoded from base64 straight into the floats a view computes with
 * (one copy for float32, one conversion for float16), so that a hostile or broken file gets a message, never a crash.
 *
 * This module must stay free of `vscode` and Node imports: the notebook renderer bundles it.
 */
import * as v from 'valibot';
import { ATTENTION_ONLY_TASK, EXTERNAL_FAMILY, MAX_TOKENS, type Analysis, type SourceRange, type TokenRow } from './analysis';
import type { HeldAttention } from './attentionViews';

/** The notebook output MIME type. */
export const ATTENTION_MIME = 'application/vnd.attention-explorer.attention+json';
/** What the custom editor opens. */
export const ATTENTION_FILE_SUFFIX = '.attention.json';
export const ATTENTION_FORMAT = 'attention-explorer.attention';
export const ATTENTION_FORMAT_VERSION = 1;
/** The decoded tensors of one document together (the same number in `python/attention_explorer/_limits.py`). */
export const MAX_ATTENTION_BYTES = 64 * 1024 * 1024;
/** Layers and heads of one attention (as the model families' caps). */
export const MAX_ATTENTION_LAYERS = 256;
export const MAX_ATTENTION_HEADS = 256;
const MAX_TOKEN_LENGTH = 256;
const MAX_NAME_LENGTH = 256;

export const ATTENTION_VIEW_TABS = ['model', 'head', 'aggregates'] as const;
export type AttentionViewTab = (typeof ATTENTION_VIEW_TABS)[number];

const index = v.pipe(v.number(), v.integer(), v.minValue(0));
const name = v.pipe(v.string(), v.minLength(1), v.maxLength(64));

const SequenceSchema = v.object({
  name,
  tokens: v.pipe(v.array(v.pipe(v.string(), v.maxLength(MAX_TOKEN_LENGTH))), v.minLength(1), v.maxLength(MAX_TOKENS)),
  special: v.optional(v.nullable(v.array(v.boolean()))),
  text: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(100 * 1024 * 1024)))),
  offsets: v.optional(v.nullable(v.array(v.tuple([index, index])))),
  sentenceBStart: v.optional(v.nullable(index)),
});

const AttentionSchema = v.object({
  name,
  queries: name,
  keys: name,
  layers: v.pipe(index, v.minValue(1), v.maxValue(MAX_ATTENTION_LAYERS)),
  heads: v.pipe(index, v.minValue(1), v.maxValue(MAX_ATTENTION_HEADS)),
  layerIndices: v.optional(v.nullable(v.array(index))),
  causal: v.optional(v.nullable(v.boolean())),
  dtype: v.picklist(['float32', 'float16']),
  data: v.string(),
});

const DocumentSchema = v.object({
  format: v.literal(ATTENTION_FORMAT),
  version: v.literal(ATTENTION_FORMAT_VERSION),
  model: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(MAX_NAME_LENGTH)))),
  sequences: v.pipe(v.array(SequenceSchema), v.minLength(1), v.maxLength(2)),
  attentions: v.pipe(v.array(AttentionSchema), v.minLength(1), v.maxLength(3)),
  view: v.optional(
    v.nullable(
      v.object({
        tab: v.optional(v.nullable(v.picklist(ATTENTION_VIEW_TABS))),
        layer: v.optional(v.nullable(index)),
        head: v.optional(v.nullable(index)),
      }),
    ),
  ),
});

/** One token list of a document, as the views read it. */
export interface AttentionSequence {
  name: string;
  tokens: TokenRow[];
  text: string;
  sentenceBStart?: number;
}

/** One set of maps `[layers, heads, rows, cols]`: rows are the query sequence's tokens, columns the key sequence's. */
export interface AttentionMaps {
  name: string;
  queries: AttentionSequence;
  keys: AttentionSequence;
  layers: number;
  heads: number;
  /** The model's own layer numbers (0-based) of the stored layers. */
  layerIndices: number[];
  causal: boolean;
  dtype: 'float32' | 'float16';
  rows: number;
  cols: number;
  /** Per layer `[heads, rows, cols]`. */
  data: Float32Array[];
}

export interface AttentionDocument {
  model: string | undefined;
  sequences: AttentionSequence[];
  attentions: AttentionMaps[];
  view: { tab?: AttentionViewTab; layer?: number; head?: number };
  /** The tensors' stored bytes (float16 counts 2 per weight), as the limit counts them. */
  bytes: number;
}

/** Why a document cannot be read, in words a user can act on. */
export class AttentionFileError extends Error {
  override readonly name = 'AttentionFileError';
}

const SPECIAL_TOKEN = /^(\[[A-Z_]+\]|<\/?[a-z_]+>|<\|[^|]{1,64}\|>)$/;

/** Whether a token string looks like a special token (when the document does not say). */
export function looksSpecial(token: string): boolean {
  return SPECIAL_TOKEN.test(token);
}

function sequenceOf(raw: v.InferOutput<typeof SequenceSchema>): AttentionSequence {
  const count = raw.tokens.length;
  if (raw.special && raw.special.length !== count) {
    throw new AttentionFileError(`Sequence "${raw.name}": ${raw.special.length} "special" flags for ${count} tokens.`);
  }
  if (raw.offsets && raw.offsets.length !== count) {
    throw new AttentionFileError(`Sequence "${raw.name}": ${raw.offsets.length} offsets for ${count} tokens.`);
  }
  const text = raw.text ?? raw.tokens.join(' ');
  if (raw.offsets && (raw.text === undefined || raw.text === null))
    throw new AttentionFileError(`Sequence "${raw.name}": offsets without the text they point into.`);
  if (typeof raw.sentenceBStart === 'number' && raw.sentenceBStart >= count) {
    throw new AttentionFileError(`Sequence "${raw.name}": sentenceBStart ${raw.sentenceBStart} is past its ${count} tokens.`);
  }
  let cursor = 0;
  const tokens = raw.tokens.map((token, position): TokenRow => {
    const special = raw.special?.[position] ?? looksSpecial(token);
    let start = 0;
    let end = 0;
    if (raw.offsets) {
      [start, end] = raw.offsets[position]!;
      if (end < start || end > text.length) {
        throw new AttentionFileError(`Sequence "${raw.name}": token ${position}'s offsets [${start}, ${end}) are outside its text.`);
      }
    } else if (!special) {
      // Without offsets, the token strings joined by spaces are the text: each covers its own place in it.
      start = text.indexOf(token, cursor);
      if (start < 0) start = cursor;
      end = Math.min(text.length, start + token.length);
    }
    cursor = Math.max(cursor, end);
    return { id: position, text: token, start, end, special };
  });
  return { name: raw.name, tokens, text, ...(typeof raw.sentenceBStart === 'number' ? { sentenceBStart: raw.sentenceBStart } : {}) };
}

/** Every UTF-16 code unit → its base64 digit, or -1 (a full table: one lookup per character, no range check). */
const BASE64 = new Int8Array(65536).fill(-1);
for (const [position, char] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) {
  BASE64[char.charCodeAt(0)] = position;
}

/**
 * Decodes standard padded base64 into `out` (exactly its length): one pass, no intermediate string or array, so a
 * 64 MiB tensor is copied once. Throws on a character outside the alphabet or a length that does not match.
 */
export function decodeBase64Into(text: string, out: Uint8Array): void {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  if (text.length % 4 !== 0 || (text.length / 4) * 3 - padding !== out.length) {
    throw new AttentionFileError(`expected ${out.length} bytes of base64, found ${text.length} characters`);
  }
  const fail = (from: number): never => {
    let position = from;
    while (position < text.length && BASE64[text.charCodeAt(position)]! >= 0) position += 1;
    throw new AttentionFileError(`a character that is not base64 at position ${position}`);
  };
  // Whole quads first (the last one may carry the padding).
  const whole = padding > 0 ? text.length - 4 : text.length;
  let written = 0;
  for (let position = 0; position < whole; position += 4) {
    const a = BASE64[text.charCodeAt(position)]!;
    const b = BASE64[text.charCodeAt(position + 1)]!;
    const c = BASE64[text.charCodeAt(position + 2)]!;
    const d = BASE64[text.charCodeAt(position + 3)]!;
    if ((a | b | c | d) < 0) fail(position);
    out[written] = (a << 2) | (b >> 4);
    out[written + 1] = ((b & 15) << 4) | (c >> 2);
    out[written + 2] = ((c & 3) << 6) | d;
    written += 3;
  }
  if (padding > 0) {
    const position = whole;
    const a = BASE64[text.charCodeAt(position)]!;
    const b = BASE64[text.charCodeAt(position + 1)]!;
    const c = padding === 2 ? 0 : BASE64[text.charCodeAt(position + 2)]!;
    if ((a | b | c) < 0) fail(position);
    out[written] = (a << 2) | (b >> 4);
    if (padding === 1) out[written + 1] = ((b & 15) << 4) | (c >> 2);
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Every binary16 bit pattern's value: decoding is then one lookup per weight. */
let halves: Float32Array | undefined;
function halfTable(): Float32Array {
  halves ??= Float32Array.from({ length: 65536 }, (_, bits) => halfToFloat(bits));
  return halves;
}

/** IEEE 754 binary16 → number. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? Number.NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function decodeTensor(raw: v.InferOutput<typeof AttentionSchema>, rows: number, cols: number): Float32Array[] {
  const count = raw.layers * raw.heads * rows * cols;
  const width = raw.dtype === 'float32' ? 4 : 2;
  const floats = new Float32Array(count);
  let bytes: Uint8Array;
  if (width === 4 && LITTLE_ENDIAN) bytes = new Uint8Array(floats.buffer);
  else bytes = new Uint8Array(count * width);
  try {
    decodeBase64Into(raw.data, bytes);
  } catch (error) {
    throw new AttentionFileError(
      `Attention "${raw.name}": its data is not ${raw.dtype} [${raw.layers}, ${raw.heads}, ${rows}, ${cols}]: ${(error as Error).message}.`,
    );
  }
  if (width === 2 && LITTLE_ENDIAN) {
    const table = halfTable();
    const bits = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
    for (let position = 0; position < count; position += 1) floats[position] = table[bits[position]!]!;
  } else if (bytes.buffer !== floats.buffer) {
    const view = new DataView(bytes.buffer);
    for (let position = 0; position < count; position += 1) {
      floats[position] = width === 4 ? view.getFloat32(position * 4, true) : halfToFloat(view.getUint16(position * 2, true));
    }
  }
  const mapSize = rows * cols;
  for (let position = 0; position < count; position += 1) {
    const weight = floats[position]!;
    if (!(weight >= 0) || weight === Infinity) {
      const layer = Math.floor(position / (raw.heads * mapSize));
      const head = Math.floor(position / mapSize) % raw.heads;
      throw new AttentionFileError(
        `Attention "${raw.name}", layer ${layer + 1}, head ${head + 1}: a weight of ${weight} (weights are probabilities: finite and ≥ 0).`,
      );
    }
  }
  const layerSize = raw.heads * mapSize;
  return Array.from({ length: raw.layers }, (_, layer) => floats.subarray(layer * layerSize, (layer + 1) * layerSize));
}

function issuesText(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .slice(0, 3)
    .map((issue) => {
      const where = issue.path?.map((item) => String(item.key)).join('.');
      // Cut: valibot quotes the value it received, and a hostile file's value can be megabytes long.
      const message = issue.message.length > 200 ? `${issue.message.slice(0, 199)}…` : issue.message;
      return where ? `${where.slice(0, 100)}: ${message}` : message;
    })
    .join('; ');
}

/**
 * Reads a document (already parsed from JSON): every rule of the format checked, tensors decoded. Throws
 * {@link AttentionFileError} with what is wrong.
 */
export function readAttentionDocument(input: unknown): AttentionDocument {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new AttentionFileError('This is not an attention document (expected a JSON object).');
  }
  const record = input as Record<string, unknown>;
  if (record.format !== ATTENTION_FORMAT) {
    throw new AttentionFileError(
      `This is not an attention document: its "format" is ${JSON.stringify(record.format ?? null)?.slice(0, 80)}, not "${ATTENTION_FORMAT}".`,
    );
  }
  if (record.version !== ATTENTION_FORMAT_VERSION) {
    throw new AttentionFileError(
      `This attention document is version ${JSON.stringify(record.version ?? null)?.slice(0, 20)}; this version of Attention Explorer reads version ${ATTENTION_FORMAT_VERSION}. Update the extension, or write it with a matching attention_explorer package.`,
    );
  }
  const parsed = v.safeParse(DocumentSchema, input);
  if (!parsed.success) throw new AttentionFileError(`This attention document is malformed: ${issuesText(parsed.issues)}.`);
  const raw = parsed.output;
  const sequences = raw.sequences.map(sequenceOf);
  const byName = new Map(sequences.map((sequence) => [sequence.name, sequence]));
  if (byName.size !== sequences.length) throw new AttentionFileError('Two sequences of this attention document have the same name.');
  const names = new Set(raw.attentions.map((attention) => attention.name));
  if (names.size !== raw.attentions.length) throw new AttentionFileError('Two attentions of this attention document have the same name.');
  let bytes = 0;
  for (const attention of raw.attentions) {
    const queries = byName.get(attention.queries);
    const keys = byName.get(attention.keys);
    if (!queries || !keys) {
      throw new AttentionFileError(
        `Attention "${attention.name}" names a sequence the document does not have ("${queries ? attention.keys : attention.queries}").`,
      );
    }
    // The stored bytes, as the writers count them: float16 fits twice the weights (decoded, they take float32's room).
    bytes += attention.layers * attention.heads * queries.tokens.length * keys.tokens.length * (attention.dtype === 'float16' ? 2 : 4);
  }
  if (bytes > MAX_ATTENTION_BYTES) {
    throw new AttentionFileError(
      `This attention document holds ${(bytes / 2 ** 20).toFixed(1)} MiB of weights; Attention Explorer reads at most ${MAX_ATTENTION_BYTES / 2 ** 20} MiB. Keep fewer layers (include_layers=…) or fewer tokens.`,
    );
  }
  const attentions = raw.attentions.map((attention): AttentionMaps => {
    const queries = byName.get(attention.queries)!;
    const keys = byName.get(attention.keys)!;
    const layerIndices = attention.layerIndices ?? Array.from({ length: attention.layers }, (_, layer) => layer);
    if (layerIndices.length !== attention.layers || new Set(layerIndices).size !== layerIndices.length) {
      throw new AttentionFileError(`Attention "${attention.name}": "layerIndices" must name ${attention.layers} distinct layers.`);
    }
    const rows = queries.tokens.length;
    const cols = keys.tokens.length;
    return {
      name: attention.name,
      queries,
      keys,
      layers: attention.layers,
      heads: attention.heads,
      layerIndices,
      causal: attention.causal ?? false,
      dtype: attention.dtype,
      rows,
      cols,
      data: decodeTensor(attention, rows, cols),
    };
  });
  const view = raw.view ?? {};
  return {
    model: raw.model ?? undefined,
    sequences,
    attentions,
    view: {
      ...(view.tab ? { tab: view.tab } : {}),
      ...(typeof view.layer === 'number' ? { layer: view.layer } : {}),
      ...(typeof view.head === 'number' ? { head: view.head } : {}),
    },
    bytes,
  };
}

/** Parses and reads a document from its JSON text (a `.attention.json` file). */
export function parseAttentionDocument(text: string): AttentionDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AttentionFileError(`This attention file is not valid JSON: ${(error as Error).message}.`);
  }
  return readAttentionDocument(json);
}

/** The model key of attention that came from a document: there is no model to run for it. */
export const EXTERNAL_MODEL_KEY = 'external';

/** The attentions a panel can show: each sequence attending to itself (cross-attention has two token lists). */
export function selfAttentions(document: AttentionDocument): AttentionMaps[] {
  return document.attentions.filter((maps) => maps.queries === maps.keys);
}

/** A human name for one attention of a document: "attention", "encoder", "decoder", "cross". */
export function attentionTitle(document: AttentionDocument, maps: AttentionMaps): string {
  return document.attentions.length > 1 ? `${document.model ?? 'attention'} · ${maps.name}` : (document.model ?? 'attention');
}

/**
 * One self-attention of a document as an analysis the panel's views read (no prediction: the `none` task), and the
 * attention they ask about, held as the worker holds a model's.
 */
export function importedAnalysis(
  document: AttentionDocument,
  maps: AttentionMaps,
  id: string,
  source: SourceRange,
): { analysis: Analysis; held: HeldAttention } {
  if (maps.queries !== maps.keys) {
    throw new AttentionFileError(`Attention "${maps.name}" is cross-attention between two token lists; the panel shows self-attention.`);
  }
  const sequence = maps.queries;
  const analysis: Analysis = {
    id,
    source,
    text: sequence.text.slice(0, 1_100_000),
    tokens: sequence.tokens,
    model: {
      name: (document.attentions.length > 1 ? `${document.model ?? 'attention'} (${maps.name})` : (document.model ?? 'attention')).slice(
        0,
        4096,
      ),
      dtype: maps.dtype === 'float16' ? 'fp16' : 'fp32',
      family: EXTERNAL_FAMILY,
      task: ATTENTION_ONLY_TASK,
      layers: maps.layers,
      heads: maps.heads,
      kvHeads: maps.heads,
      causal: maps.causal,
      isTestModel: false,
      quantized: false,
    },
    prediction: { task: ATTENTION_ONLY_TASK },
    timings: { tokenizeMs: 0, inferenceMs: 0, totalMs: 0 },
  };
  const held: HeldAttention = { tokens: sequence.tokens, layers: maps.data, heads: maps.heads, n: maps.rows, modelKey: EXTERNAL_MODEL_KEY };
  return { analysis, held };
}
