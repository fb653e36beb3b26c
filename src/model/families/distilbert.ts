/**
 * DistilBERT (`distilbert`): six layers distilled from BERT, no token types. Config keys `dim`, `n_heads`,
 * `n_layers`, `hidden_dim`; the export scales the query by 1/√d before the scores product and masks with a Where.
 */
import type { ModelFamily } from './family';
import { headCount, labelsOf, layerCount, positiveInteger, stringList, tasksOf } from './configKeys';

export const distilbert: ModelFamily = {
  id: 'distilbert',
  displayName: 'DistilBERT',
  modelTypes: ['distilbert'],
  pattern: {
    kind: 'encoder',
    description: 'a DistilBERT export',
    inputs: [
      { name: 'input_ids', value: 'ids', required: true },
      { name: 'attention_mask', value: 'mask', required: true },
    ],
    scorePath: new Set(['Where', 'Add', 'Div', 'Mul', 'Cast', 'Sub']),
  },
  readConfig(raw, file) {
    const hidden = positiveInteger(raw, 'dim', file);
    const heads = headCount(raw, 'n_heads', file);
    const architectures = stringList(raw, 'architectures');
    return {
      family: 'distilbert',
      modelType: 'distilbert',
      architectures,
      layers: layerCount(raw, 'n_layers', file),
      heads,
      kvHeads: heads,
      headDim: hidden / heads,
      causal: false,
      hidden,
      intermediate: typeof raw.hidden_dim === 'number' ? positiveInteger(raw, 'hidden_dim', file) : 4 * hidden,
      vocabSize: positiveInteger(raw, 'vocab_size', file),
      maxTokens: positiveInteger(raw, 'max_position_embeddings', file),
      ...labelsOf(raw, file),
      multiLabel: raw.problem_type === 'multi_label_classification',
      tasks: tasksOf(architectures),
      name: typeof raw._name_or_path === 'string' ? raw._name_or_path : undefined,
      stopTokenIds: [],
      isTestModel: raw.attention_explorer_test_model !== undefined,
    };
  },
  outputsOf: (task) => (task === 'feature-extraction' ? ['last_hidden_state', 'token_embeddings'] : ['logits']),
  headReadsFirstToken: (task) => task === 'text-classification',
};
