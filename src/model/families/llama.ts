/**
 * The Llama family: Llama 3.x and SmolLM/SmolLM2 (`llama`), Qwen2/2.5 (`qwen2`: biases on q, k and v) and Qwen3
 * (`qwen3`: an RMS norm on each head's q and k). Config keys `hidden_size`, `num_attention_heads`,
 * `num_key_value_heads` (grouped-query attention), `num_hidden_layers`, `intermediate_size`, `head_dim`. Two export
 * styles: optimum's unfused graph (rotary embeddings as primitive ops, keys and values repeated to every query head
 * before the product) and onnxruntime-genai's fused `GroupQueryAttention`.
 */
import type { FamilyConfig, ModelFamily } from './family';
import { decoderPattern, decoderTask, readDecoderConfig } from './decoder';

const keys = {
  hidden: 'hidden_size',
  heads: 'num_attention_heads',
  kvHeads: 'num_key_value_heads',
  layers: 'num_hidden_layers',
  intermediate: 'intermediate_size',
  maxPositions: 'max_position_embeddings',
};

function llamaStyle(id: FamilyConfig['family'], displayName: string, modelTypes: string[]): ModelFamily {
  return {
    id,
    displayName,
    modelTypes,
    pattern: decoderPattern(`a ${displayName} export`, ['Add', 'Where', 'Div', 'Mul', 'Cast', 'Sub']),
    readConfig: (raw, file) => readDecoderConfig(raw, file, id, keys),
    ...decoderTask,
  };
}

export const llama = llamaStyle('llama', 'Llama', ['llama']);
export const qwen2 = llamaStyle('qwen2', 'Qwen2', ['qwen2']);
export const qwen3 = llamaStyle('qwen3', 'Qwen3', ['qwen3']);
