/**
 * `npm run make-test-model -- --out DIR [--family distilbert|bert|roberta] [--task text-classification|token-classification|fill-mask|feature-extraction]
 *   [--size tiny|full] [--seed N] [--dtype fp32|q8|both] [--multi-label] [--tokenizer DIR]`
 *
 * Writes a model folder with random weights, shaped as the hub's export of that family and task (see
 * scripts/lib/testModel.ts). Defaults: distilbert, text-classification, tiny, seed 42, both ONNX files.
 */
import * as path from 'node:path';
import { FAMILIES, TASKS, type FamilyId, type TaskId } from '../src/shared/analysis';
import { makeTestModel, TEST_MODEL_DTYPES, type TestModelDtype, type TestModelSize } from './lib/testModel';
import { sharedTokenizerDir } from '../test/support/paths';

function argument(name: string, fallback?: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

function main(): void {
  const out = argument('--out');
  const family = argument('--family', 'distilbert') as FamilyId;
  const task = argument('--task', 'text-classification') as TaskId;
  const size = argument('--size', 'tiny') as TestModelSize;
  const dtype = argument('--dtype', 'both')!;
  const seed = Number(argument('--seed', '42'));
  const tokenizerDir = path.resolve(argument('--tokenizer', sharedTokenizerDir)!);
  if (!out) throw new Error('--out DIR is required');
  if (!FAMILIES.includes(family)) throw new Error(`--family must be one of ${FAMILIES.join(', ')} (got ${family})`);
  if (!TASKS.includes(task)) throw new Error(`--task must be one of ${TASKS.join(', ')} (got ${task})`);
  if (!['tiny', 'full'].includes(size)) throw new Error(`--size must be tiny or full (got ${size})`);
  if (![...TEST_MODEL_DTYPES, 'both'].includes(dtype)) throw new Error(`--dtype must be fp32, q8 or both (got ${dtype})`);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer (got ${seed})`);
  const dtypes = dtype === 'both' ? TEST_MODEL_DTYPES : [dtype as TestModelDtype];
  const started = Date.now();
  const files = makeTestModel({
    out: path.resolve(out),
    family,
    task,
    size,
    dtypes,
    seed,
    multiLabel: process.argv.includes('--multi-label'),
    tokenizerDir,
  });
  console.log(
    `[make-test-model] ${family} ${task} ${size} ${dtypes.join('+')} seed ${seed} → ${path.resolve(out)} (${files.join(', ')}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

try {
  main();
} catch (error) {
  console.error(`[make-test-model] ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
