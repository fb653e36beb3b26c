/**
 * What an analysis is, as every part of the extension sees it: the analysed text and where it came from, its tokens
 * with their offsets, the model, the prediction and the timings. Plain JSON (it is kept in webview state and in the
 * host's workspace state); the attention tensors are not part of it (the worker holds them, see
 * `analysisViews.ts`). Declared once, as valibot schemas, because it also arrives from webviews and from storage.
 *
 * This module must stay free of `vscode` and Node imports: the webview bundles import it too.
 */
import * as v from 'valibot';

export const count = v.pipe(v.number(), v.integer(), v.minValue(0));
export const shortText = v.pipe(v.string(), v.maxLength(4096));
export const analysisId = v.pipe(v.string(), v.maxLength(64));

/** The most tokens an analysis can have (2048-token models and long inputs with room to spare). */
export const MAX_TOKENS = 100_000;

/**
 * One token of an analysed text. It covers `[start, end)` of the analysed text in UTF-16 code units (JavaScript
 * string indices, which are also VS Code's document offsets); special tokens ([CLS], [SEP]) cover an empty range at
 * 0, as Hugging Face tokenizers report them.
 */
export const TokenRowSchema = v.object({
  id: v.pipe(v.number(), v.integer()),
  /** The tokenizer's own token string, e.g. `"##ing"`. */
  text: v.pipe(v.string(), v.maxLength(256)),
  start: count,
  end: count,
  special: v.boolean(),
});
export type TokenRow = v.InferOutput<typeof TokenRowSchema>;

/** Where an analysed text came from, for labels and for jumping back to it. */
export const SourceRangeSchema = v.object({
  documentName: shortText,
  documentUri: v.pipe(v.string(), v.maxLength(8192)),
  startLine: count,
  startCharacter: count,
  endLine: count,
  endCharacter: count,
});
export type SourceRange = v.InferOutput<typeof SourceRangeSchema>;

/** fp32: `onnx/model.onnx`; q8: `onnx/model_quantized.onnx` (8-bit weights, as transformers.js names them). */
export const MODEL_DTYPES = ['fp32', 'q8'] as const;
export type ModelDtype = (typeof MODEL_DTYPES)[number];

export const ModelInfoSchema = v.object({
  name: shortText,
  dtype: v.picklist(MODEL_DTYPES),
  layers: count,
  heads: count,
  /** A project-built model with random weights: its predictions mean nothing. */
  isTestModel: v.boolean(),
  quantized: v.boolean(),
});
export type ModelInfo = v.InferOutput<typeof ModelInfoSchema>;

export const SentimentSchema = v.object({
  labels: v.pipe(v.array(shortText), v.maxLength(1000)),
  probabilities: v.pipe(v.array(v.number()), v.maxLength(1000)),
  logits: v.pipe(v.array(v.number()), v.maxLength(1000)),
});
export type Sentiment = v.InferOutput<typeof SentimentSchema>;

export const TimingsSchema = v.object({ tokenizeMs: v.number(), inferenceMs: v.number(), totalMs: v.number() });
export type Timings = v.InferOutput<typeof TimingsSchema>;

/** A text longer than the model reads: how many word pieces it had, how many were kept, where the kept part ends. */
export const TruncationSchema = v.object({ textTokens: count, keptTextTokens: count, analysedEnd: count });
export type Truncation = v.InferOutput<typeof TruncationSchema>;

/** An analysis, everything but its tensors. */
export const AnalysisSchema = v.object({
  id: analysisId,
  source: SourceRangeSchema,
  text: v.pipe(v.string(), v.maxLength(1_100_000)),
  tokens: v.pipe(v.array(TokenRowSchema), v.maxLength(MAX_TOKENS)),
  model: ModelInfoSchema,
  sentiment: SentimentSchema,
  timings: TimingsSchema,
  truncation: v.optional(TruncationSchema),
});
export type Analysis = v.InferOutput<typeof AnalysisSchema>;

/** How maps are shown: without special tokens, with word pieces merged into words. */
export const DisplayOptionsSchema = v.object({ hideSpecial: v.boolean(), mergeWords: v.boolean() });
export type DisplayOptions = v.InferOutput<typeof DisplayOptionsSchema>;

/** A remembered analysis, as lists show it (the compare view's choices). */
export interface AnalysisListEntry {
  id: string;
  /** The first characters of the analysed text. */
  preview: string;
  documentName: string;
  sentiment: Sentiment;
}

/** The first `max` characters of a text on one line, for lists and labels. */
export function previewOf(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export function listEntryOf(analysis: Analysis): AnalysisListEntry {
  return {
    id: analysis.id,
    preview: previewOf(analysis.text, 60),
    documentName: analysis.source.documentName,
    sentiment: analysis.sentiment,
  };
}
