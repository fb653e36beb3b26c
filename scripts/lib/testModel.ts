/**
 * Models the project builds itself, one per family × task: the real weights cannot be fetched here, so tests and
 * benchmarks use these. A folder holds what the hub repository of a transformers.js export holds:
 *
 *   config.json              that family's Hugging Face keys, `architectures`, `id2label`, the chosen sizes and a name
 *                            that says "random weights"
 *   tokenizer.json, tokenizer_config.json (+ vocab.txt, or vocab.json and merges.txt)   a real tokenizer of the
 *                            family's kind (see testModels/tokenizers.ts)
 *   model.safetensors        the weights under Hugging Face's parameter names, PyTorch layout ([out, in])
 *   onnx/model.onnx          fp32 graph shaped as the optimum export of the architecture (see testModels/*.ts)
 *   onnx/model_quantized.onnx  q8: the same weights, MatMuls dynamically quantized (MatMulInteger)
 *
 * Weights are deterministic from the seed (MT19937, uniform with the stated standard deviation).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeModel } from '../../src/model/onnx/graph';
import { writeSafetensors } from '../../src/reference/safetensors';
import {
  FAMILIES,
  isDecoderFamily,
  TASKS,
  type EncoderFamilyId,
  type EncoderTaskId,
  type FamilyId,
  type TaskId,
} from '../../src/shared/analysis';
import { BERT_STYLE, bertGraph, bertWeights, ROBERTA_STYLE } from './testModels/bert';
import { DISTILBERT_MAX_POSITIONS, distilbertGraph, distilbertWeights } from './testModels/distilbert';
import { architectureOf, ENCODER_SIZES, TEST_LABELS, type HeadSpec, type TestModelSize } from './testModels/encoderShapes';
import type { AttentionStyle } from './testModels/decoderShapes';
import { DTYPE_SUFFIX, makeDecoderModel } from './testModels/decoderModel';
import type { TestModelDtype } from './testModels/graphBuilder';
import { writeTokenizer } from './testModels/tokenizers';

export type { TestModelSize } from './testModels/encoderShapes';
export type { TestModelDtype } from './testModels/graphBuilder';
export { ENCODER_SIZES } from './testModels/encoderShapes';

/** Bump when a graph, the weights or the files change: cached builds with another version are rebuilt. */
export const TEST_MODEL_VERSION = 2;

/** The ONNX files written by default: encoders fp32 and q8, decoders fp32 and q4 (what their hub exports offer). */
export const TEST_MODEL_DTYPES: readonly TestModelDtype[] = ['fp32', 'q8'];
export const DECODER_TEST_MODEL_DTYPES: readonly TestModelDtype[] = ['fp32', 'q4'];

export interface TestModelOptions {
  out: string;
  family?: FamilyId;
  task?: TaskId;
  size: TestModelSize;
  /** The ONNX files to write; both by default. */
  dtypes?: readonly TestModelDtype[];
  seed: number;
  /** For text classification: sigmoid per label (`problem_type: multi_label_classification`). */
  multiLabel?: boolean;
  /** Decoders: optimum's unfused graph or onnxruntime-genai's fused one (default unfused). */
  attention?: AttentionStyle;
  /** GPT-2: the older If-merged `decoder_model_merged.onnx`. */
  merged?: boolean;
  /** The WordPiece tokenizer folder (bert-base-uncased's vocabulary) BERT-family models copy. */
  tokenizerDir: string;
}

/** The labels of a task head: the family's real-model-like labels, or two generic ones (HF's default config). */
function labelsOf(family: EncoderFamilyId, task: EncoderTaskId): string[] {
  return TEST_LABELS[family][task] ?? ['LABEL_0', 'LABEL_1'];
}

interface EncoderConfigOptions {
  family: EncoderFamilyId;
  task: EncoderTaskId;
  size: TestModelSize;
  seed: number;
  multiLabel: boolean;
}

function configOf(
  options: EncoderConfigOptions,
  vocabSize: number,
  tokenizer: { padTokenId: number; bosTokenId?: number; eosTokenId?: number },
  tokenizerDir: string,
): Record<string, unknown> {
  const { family, task, size, seed } = options;
  const sizes = ENCODER_SIZES[family][size];
  const labels = labelsOf(family, task);
  const labelKeys = {
    id2label: Object.fromEntries(labels.map((label, index) => [String(index), label])),
    label2id: Object.fromEntries(labels.map((label, index) => [label, index])),
  };
  const common = {
    _name_or_path: `attention-explorer/test-${family}-${task}-${size} (random weights, seed ${seed})`,
    architectures: [architectureOf(family, task)],
    ...labelKeys,
    ...(options.multiLabel ? { problem_type: 'multi_label_classification' } : {}),
  };
  const stamp = { attention_explorer_test_model: { family, task, size, seed, version: TEST_MODEL_VERSION } };
  if (family === 'distilbert') {
    // The shared config is the real SST-2 model's: keep its keys, change the sizes and the head.
    const real = JSON.parse(fs.readFileSync(path.join(tokenizerDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const { id2label: _labels, label2id: _ids, finetuning_task: _task, ...rest } = real;
    return {
      ...rest,
      ...common,
      ...(task === 'text-classification' && !options.multiLabel ? { finetuning_task: 'sst-2' } : {}),
      dim: sizes.hidden,
      hidden_dim: sizes.intermediate,
      n_heads: sizes.heads,
      n_layers: sizes.layers,
      max_position_embeddings: DISTILBERT_MAX_POSITIONS,
      vocab_size: vocabSize,
      ...stamp,
    };
  }
  const style = family === 'bert' ? BERT_STYLE : ROBERTA_STYLE;
  return {
    ...common,
    attention_probs_dropout_prob: 0.1,
    ...(tokenizer.bosTokenId !== undefined ? { bos_token_id: tokenizer.bosTokenId } : {}),
    classifier_dropout: null,
    ...(tokenizer.eosTokenId !== undefined ? { eos_token_id: tokenizer.eosTokenId } : {}),
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    hidden_size: sizes.hidden,
    initializer_range: 0.02,
    intermediate_size: sizes.intermediate,
    layer_norm_eps: style.layerNormEps,
    max_position_embeddings: style.maxPositions,
    model_type: family,
    num_attention_heads: sizes.heads,
    num_hidden_layers: sizes.layers,
    pad_token_id: tokenizer.padTokenId,
    position_embedding_type: 'absolute',
    transformers_version: '4.46.3',
    type_vocab_size: style.typeVocabSize,
    use_cache: true,
    vocab_size: vocabSize,
    ...stamp,
  };
}

/** Writes a complete model folder; returns the files written. */
export function makeTestModel(options: TestModelOptions): string[] {
  const family = options.family ?? 'distilbert';
  if (!FAMILIES.includes(family)) throw new Error(`--family must be one of ${FAMILIES.join(', ')} (got ${family})`);
  if (isDecoderFamily(family)) {
    if ((options.task ?? 'text-generation') !== 'text-generation') throw new Error(`${family} is a decoder: its task is text-generation`);
    return makeDecoderModel({
      out: options.out,
      family,
      size: options.size,
      attention: options.attention ?? 'unfused',
      merged: options.merged ?? false,
      dtypes: options.dtypes ?? DECODER_TEST_MODEL_DTYPES,
      seed: options.seed,
      tokenizerDir: options.tokenizerDir,
      version: TEST_MODEL_VERSION,
    });
  }
  return makeEncoderModel(options, family, options.task ?? 'text-classification');
}

function makeEncoderModel(options: TestModelOptions, family: EncoderFamilyId, taskAsked: TaskId): string[] {
  if (!TASKS.includes(taskAsked) || taskAsked === 'text-generation')
    throw new Error(
      `--task for ${family} must be one of text-classification, token-classification, fill-mask, feature-extraction (got ${taskAsked})`,
    );
  const task: EncoderTaskId = taskAsked;
  if (options.attention === 'fused' || options.merged) throw new Error('--attention and --merged are for decoders');
  if (options.multiLabel && task !== 'text-classification') throw new Error('--multi-label applies to text-classification only');
  const sizes = ENCODER_SIZES[family][options.size];
  if (!sizes) throw new Error(`--size must be tiny or full (got ${String(options.size)})`);
  fs.mkdirSync(path.join(options.out, 'onnx'), { recursive: true });
  const written: string[] = [];
  const write = (name: string, data: string | Uint8Array) => {
    fs.writeFileSync(path.join(options.out, name), data);
    written.push(name);
  };

  const tokenizer = writeTokenizer(family, options.out, options.tokenizerDir);
  written.push(...tokenizer.files);
  const head: HeadSpec = { task, labels: labelsOf(family, task).length };
  const config = configOf(
    { family, task, size: options.size, seed: options.seed, multiLabel: options.multiLabel ?? false },
    tokenizer.vocabSize,
    tokenizer,
    options.tokenizerDir,
  );
  write('config.json', `${JSON.stringify(config, null, 2)}\n`);

  const style = family === 'roberta' ? ROBERTA_STYLE : BERT_STYLE;
  const weights =
    family === 'distilbert'
      ? distilbertWeights(sizes, tokenizer.vocabSize, head, options.seed)
      : bertWeights(style, sizes, tokenizer.vocabSize, head, options.seed);
  writeSafetensors(path.join(options.out, 'model.safetensors'), weights);
  written.push('model.safetensors');
  const byName = new Map(weights);
  for (const dtype of options.dtypes ?? TEST_MODEL_DTYPES) {
    const graph =
      family === 'distilbert'
        ? distilbertGraph(sizes, byName, head, dtype, TEST_MODEL_VERSION)
        : bertGraph(style, sizes, byName, head, dtype, TEST_MODEL_VERSION);
    write(`onnx/model${DTYPE_SUFFIX[dtype]}.onnx`, encodeModel(graph));
  }
  write(
    'README.md',
    `# A random test model\n\nBuilt by \`npm run make-test-model\` (family ${family}, task ${task}, size ${options.size}, seed ${options.seed}). ${architectureOf(family, task)}'s graph and a real tokenizer of the family's kind, but **random weights**: its predictions mean nothing.\n`,
  );
  return written;
}
