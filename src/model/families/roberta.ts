/**
 * RoBERTa (`roberta`) and its kin, XLM-RoBERTa (`xlm-roberta`) and DistilRoBERTa: BERT's graph without token types,
 * positions that start after the padding index (computed inside the export from the token ids), a byte-level BPE
 * (or, for XLM-R, SentencePiece) tokenizer with `<s>`, `</s>`, `<pad>`, `<mask>`, and a classification head on `<s>`
 * (dense → tanh → out_proj) instead of a pooler.
 */
import { BERT_SCORE_PATH, readBertStyleConfig } from './bert';
import type { ModelFamily } from './family';

export const roberta: ModelFamily = {
  id: 'roberta',
  displayName: 'RoBERTa',
  modelTypes: ['roberta', 'xlm-roberta', 'camembert'],
  pattern: {
    kind: 'encoder',
    description: 'a RoBERTa export',
    inputs: [
      { name: 'input_ids', value: 'ids', required: true },
      { name: 'attention_mask', value: 'mask', required: true },
    ],
    scorePath: BERT_SCORE_PATH,
  },
  // Positions run from pad_token_id + 1, so two of the position embeddings are never a token's.
  readConfig: (raw, file) => readBertStyleConfig(raw, file, 'roberta', 2),
  outputsOf: (task) => (task === 'feature-extraction' ? ['last_hidden_state', 'token_embeddings'] : ['logits']),
  headReadsFirstToken: (task) => task === 'text-classification',
};
