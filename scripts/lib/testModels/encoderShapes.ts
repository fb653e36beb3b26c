/**
 * The sizes and heads of the encoder test models: `tiny` (small enough to check against a float64 reference, with
 * weights large enough for peaked, varied attention) and `full` (the real architecture's sizes, for benchmarks).
 */
import type { EncoderFamilyId, EncoderTaskId, FamilyId, TaskId } from '../../../src/shared/analysis';

export type TestModelSize = 'tiny' | 'full';

export interface EncoderSizes {
  layers: number;
  heads: number;
  hidden: number;
  intermediate: number;
  /** Standard deviation of the random linear weights. */
  weightStd: number;
}

export const ENCODER_SIZES: Record<EncoderFamilyId, Record<TestModelSize, EncoderSizes>> = {
  distilbert: {
    tiny: { layers: 2, heads: 4, hidden: 32, intermediate: 128, weightStd: 0.2 },
    full: { layers: 6, heads: 12, hidden: 768, intermediate: 3072, weightStd: 0.02 },
  },
  bert: {
    tiny: { layers: 2, heads: 4, hidden: 32, intermediate: 128, weightStd: 0.2 },
    full: { layers: 12, heads: 12, hidden: 768, intermediate: 3072, weightStd: 0.02 },
  },
  roberta: {
    tiny: { layers: 2, heads: 4, hidden: 32, intermediate: 128, weightStd: 0.2 },
    full: { layers: 12, heads: 12, hidden: 768, intermediate: 3072, weightStd: 0.02 },
  },
};

/** What the task head is: its task and, for classifiers, how many labels. */
export interface HeadSpec {
  task: EncoderTaskId;
  labels: number;
}

/** The labels of each family's classifier test models, after real models of that kind. */
export const TEST_LABELS: Record<EncoderFamilyId, Partial<Record<EncoderTaskId, string[]>>> = {
  // The shared SST-2 config's labels (the first test models had them).
  distilbert: { 'text-classification': ['NEGATIVE', 'POSITIVE'] },
  // nlptown/bert-base-multilingual-uncased-sentiment; dslim/bert-base-NER.
  bert: {
    'text-classification': ['1 star', '2 stars', '3 stars', '4 stars', '5 stars'],
    'token-classification': ['O', 'B-MISC', 'I-MISC', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG', 'B-LOC', 'I-LOC'],
  },
  // cardiffnlp/twitter-roberta-base-sentiment-latest; a CoNLL tagger.
  roberta: {
    'text-classification': ['negative', 'neutral', 'positive'],
    'token-classification': ['O', 'B-MISC', 'I-MISC', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG', 'B-LOC', 'I-LOC'],
  },
};

/** The architecture class a family's export of a task comes from. */
export function architectureOf(family: FamilyId, task: TaskId): string {
  const decoders: Partial<Record<FamilyId, string>> = {
    gpt2: 'GPT2LMHeadModel',
    llama: 'LlamaForCausalLM',
    qwen2: 'Qwen2ForCausalLM',
    qwen3: 'Qwen3ForCausalLM',
  };
  const decoder = decoders[family];
  if (decoder) return decoder;
  const prefix = { distilbert: 'DistilBert', bert: 'Bert', roberta: 'Roberta' }[family as EncoderFamilyId];
  const suffix = {
    'text-classification': 'ForSequenceClassification',
    'token-classification': 'ForTokenClassification',
    'fill-mask': 'ForMaskedLM',
    'feature-extraction': 'Model',
  }[task as EncoderTaskId];
  return `${prefix}${suffix}`;
}
