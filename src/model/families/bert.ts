/**
 * BERT (`bert`) and the models that share its graph: MiniLM and other sentence-transformers encoders, multilingual
 * BERT, ELECTRA discriminators (`electra`, with an embedding projection when `embedding_size` differs). Config keys
 * `hidden_size`, `num_attention_heads`, `num_hidden_layers`, `intermediate_size`; the export feeds token type ids,
 * divides the scores by √d after the product and adds the mask.
 */
import type { FamilyConfig, GraphPattern, ModelFamily } from './family';
import { headCount, labelsOf, layerCount, positiveInteger, stringList, tasksOf, type RawConfig } from './configKeys';

/** The graph BERT-style exports share (RoBERTa's adds position ids computed from the token ids, inside the graph). */
export const BERT_SCORE_PATH: ReadonlySet<string> = new Set(['Add', 'Where', 'Div', 'Mul', 'Cast', 'Sub']);

/** Reads the keys BERT, RoBERTa and ELECTRA configs share. */
export function readBertStyleConfig(raw: RawConfig, file: string, family: FamilyConfig['family'], positionsReserved: number): FamilyConfig {
  const hidden = positiveInteger(raw, 'hidden_size', file);
  const heads = headCount(raw, 'num_attention_heads', file);
  const architectures = stringList(raw, 'architectures');
  return {
    family,
    modelType: typeof raw.model_type === 'string' ? raw.model_type : family,
    architectures,
    layers: layerCount(raw, 'num_hidden_layers', file),
    heads,
    kvHeads: heads,
    headDim: hidden / heads,
    causal: false,
    hidden,
    intermediate: typeof raw.intermediate_size === 'number' ? positiveInteger(raw, 'intermediate_size', file) : 4 * hidden,
    vocabSize: positiveInteger(raw, 'vocab_size', file),
    // RoBERTa reserves the positions up to its padding index: 514 position embeddings read 512 tokens.
    maxTokens: positiveInteger(raw, 'max_position_embeddings', file) - positionsReserved,
    ...labelsOf(raw, file),
    multiLabel: raw.problem_type === 'multi_label_classification',
    tasks: tasksOf(architectures),
    name: typeof raw._name_or_path === 'string' ? raw._name_or_path : undefined,
    stopTokenIds: [],
    isTestModel: raw.attention_explorer_test_model !== undefined,
  };
}

const pattern: GraphPattern = {
  kind: 'encoder',
  description: 'a BERT export',
  inputs: [
    { name: 'input_ids', value: 'ids', required: true },
    { name: 'attention_mask', value: 'mask', required: true },
    // A single-segment text is all segment 0; exports of models without token types leave the input out.
    { name: 'token_type_ids', value: 'zeros', required: false },
  ],
  scorePath: BERT_SCORE_PATH,
};

export const bert: ModelFamily = {
  id: 'bert',
  displayName: 'BERT',
  modelTypes: ['bert', 'electra'],
  pattern,
  readConfig: (raw, file) => readBertStyleConfig(raw, file, 'bert', 0),
  outputsOf: (task) => (task === 'feature-extraction' ? ['last_hidden_state', 'token_embeddings'] : ['logits']),
  // BERT's classifier reads the pooler, which reads [CLS]; ELECTRA's head reads token 0 too.
  headReadsFirstToken: (task) => task === 'text-classification',
};
