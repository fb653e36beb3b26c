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

/**
 * The ONNX files of a model, as transformers.js names them: fp32 `onnx/model.onnx`, q8 `model_quantized.onnx`
 * (8-bit MatMulInteger), int8/uint8 `model_int8.onnx`/`model_uint8.onnx`, q4 `model_q4.onnx` (4-bit MatMulNBits),
 * fp16 `model_fp16.onnx`, q4f16 `model_q4f16.onnx`, bnb4 `model_bnb4.onnx`.
 */
export const MODEL_DTYPES = ['fp32', 'q8', 'int8', 'uint8', 'q4', 'fp16', 'q4f16', 'bnb4'] as const;
export type ModelDtype = (typeof MODEL_DTYPES)[number];

/** The encoder families (one module each under `src/model/families`). */
export const ENCODER_FAMILIES = ['distilbert', 'bert', 'roberta'] as const;
/** The decoder language-model families. */
export const DECODER_FAMILIES = ['gpt2', 'llama', 'qwen2', 'qwen3'] as const;
export const FAMILIES = [...ENCODER_FAMILIES, ...DECODER_FAMILIES] as const;
export type EncoderFamilyId = (typeof ENCODER_FAMILIES)[number];
export type DecoderFamilyId = (typeof DECODER_FAMILIES)[number];
export type FamilyId = (typeof FAMILIES)[number];

/** What an encoder predicts, chosen from its `architectures` (or by the user where it offers several). */
export const ENCODER_TASKS = ['text-classification', 'token-classification', 'fill-mask', 'feature-extraction'] as const;
export const TASKS = [...ENCODER_TASKS, 'text-generation'] as const;
export type EncoderTaskId = (typeof ENCODER_TASKS)[number];
export type TaskId = (typeof TASKS)[number];

export function isDecoderFamily(family: FamilyId): family is DecoderFamilyId {
  return (DECODER_FAMILIES as readonly string[]).includes(family);
}

/**
 * Attention that came from elsewhere (a notebook output, an `.attention.json` file): no model here to run, so no
 * prediction, explanation or generation; its maps are shown as they were written.
 */
export const EXTERNAL_FAMILY = 'external';
export const ATTENTION_ONLY_TASK = 'none';

export const ModelInfoSchema = v.object({
  name: shortText,
  dtype: v.picklist(MODEL_DTYPES),
  family: v.picklist([...FAMILIES, EXTERNAL_FAMILY]),
  task: v.picklist([...TASKS, ATTENTION_ONLY_TASK]),
  layers: count,
  /** Query heads per layer: every one has its own attention map. */
  heads: count,
  /** Key/value heads per layer (fewer than `heads` with grouped-query attention; query head h reads h ÷ (heads ÷ kvHeads)). */
  kvHeads: count,
  /** A decoder: position i attends to positions ≤ i only (the maps' upper triangle is empty). */
  causal: v.boolean(),
  /** A project-built model with random weights: its predictions mean nothing. */
  isTestModel: v.boolean(),
  quantized: v.boolean(),
});
export type ModelInfo = v.InferOutput<typeof ModelInfoSchema>;

/** The most labels (logits) a classifier's prediction has; a head that wide is a language model's, not a classifier's. */
export const MAX_LABELS = 10_000;

const labels = v.pipe(v.array(shortText), v.maxLength(MAX_LABELS));
const numbers = v.pipe(v.array(v.number()), v.maxLength(MAX_LABELS));

/** A sequence classifier's prediction: every label's probability (softmax, or sigmoid per label for multi-label). */
export const TextClassificationSchema = v.object({
  task: v.literal('text-classification'),
  labels,
  logits: numbers,
  probabilities: numbers,
  multiLabel: v.boolean(),
});
export type TextClassification = v.InferOutput<typeof TextClassificationSchema>;

/** A token's most probable label (its index in `labels`; -1 for special tokens) and that label's probability. */
export const TokenLabelSchema = v.object({ label: v.pipe(v.number(), v.integer(), v.minValue(-1)), probability: v.number() });

/**
 * An entity: consecutive tokens with one tag once `O` tokens are set aside, grouped as transformers.js's
 * `aggregation_strategy: 'simple'` does (B-/I-/E-/S- prefixes); `tokens` are their indices, `score` their mean.
 */
export const EntitySchema = v.object({
  label: shortText,
  score: v.number(),
  tokens: v.pipe(v.array(count), v.maxLength(MAX_TOKENS)),
  word: shortText,
});
export type Entity = v.InferOutput<typeof EntitySchema>;

export const TokenClassificationSchema = v.object({
  task: v.literal('token-classification'),
  labels,
  tokens: v.pipe(v.array(TokenLabelSchema), v.maxLength(MAX_TOKENS)),
  entities: v.pipe(v.array(EntitySchema), v.maxLength(MAX_TOKENS)),
});
export type TokenClassification = v.InferOutput<typeof TokenClassificationSchema>;

export const MaskPredictionSchema = v.object({
  /** The mask token's index in the tokens. */
  index: count,
  /** The most probable tokens there, most probable first. */
  top: v.pipe(v.array(v.object({ id: count, token: shortText, probability: v.number() })), v.maxLength(100)),
});
export type MaskPrediction = v.InferOutput<typeof MaskPredictionSchema>;

export const FillMaskSchema = v.object({
  task: v.literal('fill-mask'),
  masks: v.pipe(v.array(MaskPredictionSchema), v.maxLength(MAX_TOKENS)),
});
export type FillMask = v.InferOutput<typeof FillMaskSchema>;

/** A sentence-embedding model's output: no prediction, only the pooled embedding's size and L2 norm. */
export const FeatureExtractionSchema = v.object({
  task: v.literal('feature-extraction'),
  dimensions: count,
  pooling: v.picklist(['mean', 'cls']),
  norm: v.number(),
});
export type FeatureExtraction = v.InferOutput<typeof FeatureExtractionSchema>;

export const CandidateSchema = v.object({ id: count, token: shortText, probability: v.number() });
export type Candidate = v.InferOutput<typeof CandidateSchema>;

/**
 * A language model's prediction: the most probable next tokens after the text (at temperature 1), and for every
 * token of the text the probability the model gave it from what came before (its surprisal is −log₂ of that; -1 for
 * the first token, which nothing predicts) and the token the model expected there most.
 */
export const TextGenerationSchema = v.object({
  task: v.literal('text-generation'),
  next: v.pipe(v.array(CandidateSchema), v.maxLength(100)),
  tokenProbabilities: v.pipe(v.array(v.number()), v.maxLength(MAX_TOKENS)),
  expected: v.pipe(v.array(v.nullable(CandidateSchema)), v.maxLength(MAX_TOKENS)),
});
export type TextGeneration = v.InferOutput<typeof TextGenerationSchema>;

/** Attention from a file or a notebook: the maps only, no prediction. */
export const AttentionOnlySchema = v.object({ task: v.literal(ATTENTION_ONLY_TASK) });

export const PredictionSchema = v.variant('task', [
  TextClassificationSchema,
  TokenClassificationSchema,
  FillMaskSchema,
  FeatureExtractionSchema,
  TextGenerationSchema,
  AttentionOnlySchema,
]);
export type Prediction = v.InferOutput<typeof PredictionSchema>;

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
  prediction: PredictionSchema,
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
  modelName: string;
  prediction: Prediction;
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
    modelName: analysis.model.name,
    prediction: analysis.prediction,
  };
}

/**
 * The one line a list, the status bar or a card shows of a prediction: the predicted label (a classifier's best
 * label, the entity types found, the first mask's most probable token) and its probability where there is one.
 * Undefined for a feature-extraction model, which predicts nothing.
 */
/** Entity types a token-classification headline names before it says how many more. */
const HEADLINE_TYPES = 4;

export function headlineOf(prediction: Prediction): { label: string; probability?: number } | undefined {
  switch (prediction.task) {
    case 'text-classification': {
      let best = 0;
      prediction.probabilities.forEach((probability, index) => {
        if (probability > prediction.probabilities[best]!) best = index;
      });
      return { label: prediction.labels[best] ?? '?', probability: prediction.probabilities[best] ?? 0 };
    }
    case 'token-classification': {
      // A headline names a few types: a model with hundreds of long labels must not make it a page long.
      const types = [...new Set(prediction.entities.map((entity) => entity.label))];
      const shown = types.slice(0, HEADLINE_TYPES);
      const more = types.length > shown.length ? ` +${types.length - shown.length}` : '';
      return { label: types.length > 0 ? `${shown.join(', ')}${more}` : 'O' };
    }
    case 'fill-mask': {
      const top = prediction.masks[0]?.top[0];
      return top ? { label: top.token, probability: top.probability } : undefined;
    }
    case 'feature-extraction':
    case ATTENTION_ONLY_TASK:
      return undefined;
    case 'text-generation': {
      const top = prediction.next[0];
      return top ? { label: top.token, probability: top.probability } : undefined;
    }
  }
}

/**
 * The rows a list shows under a prediction's headline: every label with its probability (text classification), each
 * entity with its score, or the first mask's candidates; none for feature extraction.
 */
export function predictionRowsOf(prediction: Prediction): Array<{ label: string; probability: number }> {
  switch (prediction.task) {
    case 'text-classification':
      return prediction.labels.map((label, index) => ({ label, probability: prediction.probabilities[index] ?? 0 }));
    case 'token-classification':
      return prediction.entities.map((entity) => ({ label: `${entity.label}: ${entity.word}`, probability: entity.score }));
    case 'fill-mask':
      return (prediction.masks[0]?.top ?? []).map((candidate) => ({ label: candidate.token, probability: candidate.probability }));
    case 'feature-extraction':
    case ATTENTION_ONLY_TASK:
      return [];
    case 'text-generation':
      return prediction.next.map((candidate) => ({ label: candidate.token, probability: candidate.probability }));
  }
}
