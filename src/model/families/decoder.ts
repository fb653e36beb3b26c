/**
 * What the decoder families share: the inputs of their exports (optimum's and onnxruntime-genai's name them alike),
 * the one task they run, and the logits output. Each family module reads its own config keys.
 */
import { AnalysisError } from '../../shared/errors';
import type { FamilyConfig, GraphPattern, ModelFamily } from './family';
import { layerCount, headCount, positiveInteger, stringList, tasksOf, type RawConfig } from './configKeys';

/** The most positions a decoder analysis reads at once, whatever the model's context. */
export const DECODER_MAX_TOKENS = 2048;

export function decoderPattern(description: string, scorePath: readonly string[]): GraphPattern {
  return {
    kind: 'decoder',
    description,
    inputs: [
      { name: 'input_ids', value: 'ids', required: true },
      { name: 'attention_mask', value: 'mask', required: true },
      // genai's graphs derive positions from the mask; optimum's take them as an input.
      { name: 'position_ids', value: 'positions', required: false },
      { name: 'past_key_values.', value: 'past', required: true },
      // optimum's merged decoder chooses its with-cache branch by this flag.
      { name: 'use_cache_branch', value: 'cacheBranch', required: false },
    ],
    scorePath: new Set(scorePath),
  };
}

/** The sizes a decoder's config names, in that family's keys. */
export interface DecoderKeys {
  hidden: string;
  heads: string;
  layers: string;
  intermediate: string;
  maxPositions: string;
  /** Absent: as many key/value heads as query heads. */
  kvHeads?: string;
}

export function readDecoderConfig(raw: RawConfig, file: string, family: FamilyConfig['family'], keys: DecoderKeys): FamilyConfig {
  const hidden = positiveInteger(raw, keys.hidden, file);
  const heads = headCount(raw, keys.heads, file);
  const layers = layerCount(raw, keys.layers, file);
  const kvHeads = keys.kvHeads && raw[keys.kvHeads] !== undefined ? headCount(raw, keys.kvHeads, file) : heads;
  const architectures = stringList(raw, 'architectures');
  const headDim = typeof raw.head_dim === 'number' ? positiveInteger(raw, 'head_dim', file) : hidden / heads;
  if (!Number.isInteger(headDim))
    throw new AnalysisError('invalid-model', `${file}: ${hidden} hidden units do not split into ${heads} heads.`);
  if (heads % kvHeads !== 0)
    throw new AnalysisError('invalid-model', `${file}: ${heads} query heads do not share ${kvHeads} key/value heads evenly.`);
  return {
    family,
    modelType: typeof raw.model_type === 'string' ? raw.model_type : family,
    architectures,
    layers,
    heads,
    kvHeads,
    headDim,
    causal: true,
    hidden,
    intermediate: typeof raw[keys.intermediate] === 'number' ? positiveInteger(raw, keys.intermediate, file) : 4 * hidden,
    vocabSize: positiveInteger(raw, 'vocab_size', file),
    // What fits in memory is the tensor budget's to say (memoryBudget.ts): it refuses with what would fit.
    maxTokens: Math.min(DECODER_MAX_TOKENS, positiveInteger(raw, keys.maxPositions, file)),
    labels: [],
    multiLabel: false,
    tasks: tasksOf(architectures).filter((task) => task === 'text-generation'),
    name: typeof raw._name_or_path === 'string' ? raw._name_or_path : undefined,
    stopTokenIds: [raw.eos_token_id].flat().filter((id): id is number => typeof id === 'number' && Number.isInteger(id) && id >= 0),
    isTestModel: raw.attention_explorer_test_model !== undefined,
  };
}

/** The parts of a decoder family module that do not depend on the family. */
export const decoderTask: Pick<ModelFamily, 'outputsOf' | 'headReadsFirstToken'> = {
  outputsOf: () => ['logits'],
  headReadsFirstToken: () => false,
};
