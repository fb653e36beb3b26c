/**
 * GPT-2 (`gpt2`, also DistilGPT-2): config keys `n_embd`, `n_head`, `n_layer`, `n_inner`, `n_positions`. optimum's
 * export divides the scores by √d after the product, masks the future with a Where and adds the padding mask; the
 * older merged export puts the whole decoder twice inside an `If` on `use_cache_branch`.
 */
import type { ModelFamily } from './family';
import { decoderPattern, decoderTask, readDecoderConfig } from './decoder';

export const gpt2: ModelFamily = {
  id: 'gpt2',
  displayName: 'GPT-2',
  modelTypes: ['gpt2'],
  pattern: decoderPattern('a GPT-2 export', ['Add', 'Where', 'Div', 'Mul', 'Cast', 'Sub']),
  readConfig: (raw, file) =>
    readDecoderConfig(raw, file, 'gpt2', {
      hidden: 'n_embd',
      heads: 'n_head',
      layers: 'n_layer',
      intermediate: 'n_inner',
      maxPositions: 'n_positions',
    }),
  ...decoderTask,
};
