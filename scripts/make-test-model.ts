/**
 * `npm run make-test-model -- --out DIR [--family distilbert|bert|roberta|gpt2|llama|qwen2|qwen3]
 *   [--task text-classification|token-classification|fill-mask|feature-extraction|text-generation]
 *   [--attention unfused|fused] [--merged] [--size tiny|full] [--seed N] [--dtype fp32|q8|q4|both] [--multi-label]
 *   [--tokenizer DIR]`
 *
 * Writes a model folder with random weights, shaped as the hub's export of that family and task (see
 * scripts/lib/testModel.ts). Defaults: distilbert, text-classification, tiny, seed 42, both ONNX files (fp32 and q8
 * for encoders, fp32 and q4 for decoders, whose task is text-generation; unfused attention).
 */
import * as path from 'node:path';
import { FAMILIES, isDecoderFamily, TASKS, type FamilyId, type TaskId } from '../src/shared/analysis';
import { ATTENTION_STYLES, type AttentionStyle } from './lib/testModels/decoderShapes';
import { DECODER_TEST_MODEL_DTYPES, makeTestModel, TEST_MODEL_DTYPES, type TestModelDtype, type TestModelSize } from './lib/testModel';
import { sharedTokenizerDir } from '../test/support/paths';

function argument(name: string, fallback?: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

function main(): void {
  const out = argument('--out');
  const family = argument('--family', 'distilbert') as FamilyId;
  const decoder = FAMILIES.includes(family) && isDecoderFamily(family);
  const task = argument('--task', decoder ? 'text-generation' : 'text-classification') as TaskId;
  const attention = argument('--attention', 'unfused') as AttentionStyle;
  const size = argument('--size', 'tiny') as TestModelSize;
  const dtype = argument('--dtype', 'both')!;
  const seed = Number(argument('--seed', '42'));
  const tokenizerDir = path.resolve(argument('--tokenizer', sharedTokenizerDir)!);
  if (!out) throw new Error('--out DIR is required');
  if (!FAMILIES.includes(family)) throw new Error(`--family must be one of ${FAMILIES.join(', ')} (got ${family})`);
  if (!TASKS.includes(task)) throw new Error(`--task must be one of ${TASKS.join(', ')} (got ${task})`);
  if (!['tiny', 'full'].includes(size)) throw new Error(`--size must be tiny or full (got ${size})`);
  const allowed = decoder ? DECODER_TEST_MODEL_DTYPES : TEST_MODEL_DTYPES;
  // A decoder also has an 8-bit file on request (model_quantized.onnx); "both" is its fp32 and q4 files.
  const accepted: readonly string[] = decoder ? [...allowed, 'q8'] : allowed;
  if (![...accepted, 'both'].includes(dtype)) throw new Error(`--dtype must be ${accepted.join(', ')} or both (got ${dtype})`);
  if (!ATTENTION_STYLES.includes(attention)) throw new Error(`--attention must be unfused or fused (got ${attention})`);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer (got ${seed})`);
  const dtypes = dtype === 'both' ? allowed : [dtype as TestModelDtype];
  const started = Date.now();
  const files = makeTestModel({
    out: path.resolve(out),
    family,
    task,
    size,
    dtypes,
    seed,
    multiLabel: process.argv.includes('--multi-label'),
    attention,
    merged: process.argv.includes('--merged'),
    tokenizerDir,
  });
  console.log(
    `[make-test-model] ${family} ${task}${decoder ? ` ${attention}${process.argv.includes('--merged') ? ' merged' : ''}` : ''} ${size} ${dtypes.join('+')} seed ${seed} → ${path.resolve(out)} (${files.join(', ')}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

try {
  main();
} catch (error) {
  console.error(`[make-test-model] ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
