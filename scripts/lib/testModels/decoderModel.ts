/**
 * The decoder test-model folders: config.json in the family's Hugging Face keys, generation_config.json, the real
 * tokenizer, model.safetensors under Hugging Face's names, and the ONNX files of the chosen style — optimum's
 * `onnx/model{suffix}.onnx` (GPT-2 can instead have the older merged `onnx/decoder_model_merged{suffix}.onnx`), or
 * onnxruntime-genai's fused graph with its genai_config.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeModel } from '../../../src/model/onnx/graph';
import { writeSafetensors } from '../../../src/reference/safetensors';
import type { DecoderFamilyId } from '../../../src/shared/analysis';
import { DECODER_SIZES, type AttentionStyle, type DecoderSizes } from './decoderShapes';
import type { TestModelSize } from './encoderShapes';
import { gpt2Graph, gpt2MergedGraph, gpt2Weights } from './gpt2';
import type { TestModelDtype } from './graphBuilder';
import { llamaGraph, llamaWeights } from './llama';
import { writeTokenizer } from './tokenizers';

export interface DecoderModelOptions {
  out: string;
  family: DecoderFamilyId;
  size: TestModelSize;
  attention: AttentionStyle;
  /** GPT-2 only: the older If-merged decoder (`decoder_model_merged.onnx`). */
  merged: boolean;
  dtypes: readonly TestModelDtype[];
  seed: number;
  tokenizerDir: string;
  version: number;
}

/** transformers.js's file suffix for a dtype. */
export const DTYPE_SUFFIX: Record<TestModelDtype, string> = { fp32: '', q8: '_quantized', q4: '_q4' };

function configOf(
  options: DecoderModelOptions,
  sizes: DecoderSizes,
  tokenizer: { vocabSize: number; bosTokenId?: number; eosTokenId?: number; padTokenId: number },
): Record<string, unknown> {
  const { family, size, seed, attention } = options;
  const name = `attention-explorer/test-${family}-${attention}${options.merged ? '-merged' : ''}-${size} (random weights, seed ${seed})`;
  const stamp = {
    attention_explorer_test_model: {
      family,
      task: 'text-generation',
      size,
      seed,
      attention,
      merged: options.merged,
      version: options.version,
    },
  };
  const ids = { ...(tokenizer.bosTokenId !== undefined ? { bos_token_id: tokenizer.bosTokenId } : {}), eos_token_id: tokenizer.eosTokenId };
  if (family === 'gpt2') {
    return {
      _name_or_path: name,
      activation_function: 'gelu_new',
      architectures: ['GPT2LMHeadModel'],
      attn_pdrop: 0.1,
      ...ids,
      embd_pdrop: 0.1,
      initializer_range: 0.02,
      layer_norm_epsilon: sizes.normEps,
      model_type: 'gpt2',
      n_ctx: sizes.maxPositions,
      n_embd: sizes.hidden,
      n_head: sizes.heads,
      n_inner: null,
      n_layer: sizes.layers,
      n_positions: sizes.maxPositions,
      reorder_and_upcast_attn: false,
      resid_pdrop: 0.1,
      scale_attn_by_inverse_layer_idx: false,
      scale_attn_weights: true,
      use_cache: true,
      vocab_size: tokenizer.vocabSize,
      ...stamp,
    };
  }
  return {
    _name_or_path: name,
    architectures: [{ llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM' }[family]],
    attention_bias: family === 'qwen2',
    attention_dropout: 0,
    ...ids,
    // Qwen2 writes no head_dim (it is hidden ÷ heads); Llama 3.2 and Qwen3 do.
    ...(family === 'qwen2' ? {} : { head_dim: sizes.headDim }),
    hidden_act: 'silu',
    hidden_size: sizes.hidden,
    initializer_range: 0.02,
    intermediate_size: sizes.intermediate,
    max_position_embeddings: sizes.maxPositions,
    ...(family === 'llama'
      ? { mlp_bias: false, pretraining_tp: 1 }
      : { max_window_layers: sizes.layers, sliding_window: null, use_sliding_window: false }),
    model_type: family,
    num_attention_heads: sizes.heads,
    num_hidden_layers: sizes.layers,
    num_key_value_heads: sizes.kvHeads,
    rms_norm_eps: sizes.normEps,
    rope_scaling: sizes.ropeScaling ?? null,
    rope_theta: sizes.ropeTheta,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
    transformers_version: '4.51.3',
    use_cache: true,
    vocab_size: tokenizer.vocabSize,
    ...stamp,
  };
}

export function makeDecoderModel(options: DecoderModelOptions): string[] {
  const { family, attention } = options;
  if (family === 'gpt2' && attention === 'fused') throw new Error('--attention fused is for the Llama family (GPT-2 exports are unfused)');
  if (options.merged && family !== 'gpt2') throw new Error('--merged is for GPT-2 only');
  const sizes = DECODER_SIZES[family][options.size];
  fs.mkdirSync(path.join(options.out, 'onnx'), { recursive: true });
  const written: string[] = [];
  const write = (name: string, data: string | Uint8Array) => {
    fs.writeFileSync(path.join(options.out, name), data);
    written.push(name);
  };
  const tokenizer = writeTokenizer(family, options.out, options.tokenizerDir);
  written.push(...tokenizer.files);
  write('config.json', `${JSON.stringify(configOf(options, sizes, tokenizer), null, 2)}\n`);
  write(
    'generation_config.json',
    `${JSON.stringify({ ...(tokenizer.bosTokenId !== undefined ? { bos_token_id: tokenizer.bosTokenId } : {}), eos_token_id: tokenizer.eosTokenId, pad_token_id: tokenizer.padTokenId }, null, 2)}\n`,
  );
  const weights =
    family === 'gpt2'
      ? gpt2Weights(sizes, tokenizer.vocabSize, options.seed)
      : llamaWeights(family, sizes, tokenizer.vocabSize, options.seed);
  writeSafetensors(path.join(options.out, 'model.safetensors'), weights);
  written.push('model.safetensors');
  const byName = new Map(weights);
  for (const dtype of options.dtypes) {
    const graph =
      family === 'gpt2'
        ? (options.merged ? gpt2MergedGraph : gpt2Graph)(sizes, byName, dtype, options.version)
        : llamaGraph(family, attention, sizes, byName, dtype, options.version);
    write(`onnx/${options.merged ? 'decoder_model_merged' : 'model'}${DTYPE_SUFFIX[dtype]}.onnx`, encodeModel(graph));
  }
  if (attention === 'fused') {
    const decoder = {
      filename: 'model.onnx',
      head_size: sizes.headDim,
      hidden_size: sizes.hidden,
      num_attention_heads: sizes.heads,
      num_hidden_layers: sizes.layers,
      num_key_value_heads: sizes.kvHeads,
    };
    write(
      'genai_config.json',
      `${JSON.stringify({ model: { type: family, context_length: sizes.maxPositions, decoder, vocab_size: tokenizer.vocabSize } }, null, 2)}\n`,
    );
  }
  write(
    'README.md',
    `# A random test model\n\nBuilt by \`npm run make-test-model\` (family ${family}, ${attention} attention${options.merged ? ', merged decoder' : ''}, size ${options.size}, seed ${options.seed}). The export's graph and the family's real tokenizer, but **random weights**: its predictions mean nothing.\n`,
  );
  return written;
}
