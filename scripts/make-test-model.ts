/**
 * `npm run make-test-model -- --out DIR [--size tiny|full] [--dtype fp32|q8] [--seed N] [--tokenizer DIR]`
 *
 * Writes a DistilBERT-architecture model folder with random weights (see scripts/lib/testModel.ts).
 */
import * as path from 'node:path';
import { makeTestModel, type TestModelDtype, type TestModelSize } from './lib/testModel';
import { sharedTokenizerDir } from '../test/support/paths';

function argument(name: string, fallback?: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

function main(): void {
  const out = argument('--out');
  const size = argument('--size', 'tiny') as TestModelSize;
  const dtype = argument('--dtype', 'fp32') as TestModelDtype;
  const seed = Number(argument('--seed', '42'));
  const tokenizerDir = path.resolve(argument('--tokenizer', sharedTokenizerDir)!);
  if (!out) throw new Error('--out DIR is required');
  if (!['tiny', 'full'].includes(size)) throw new Error(`--size must be tiny or full (got ${size})`);
  if (!['fp32', 'q8'].includes(dtype)) throw new Error(`--dtype must be fp32 or q8 (got ${dtype})`);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer (got ${seed})`);
  const started = Date.now();
  const files = makeTestModel({ out: path.resolve(out), size, dtype, seed, tokenizerDir });
  console.log(
    `[make-test-model] ${size} ${dtype} seed ${seed} → ${path.resolve(out)} (${files.join(', ')}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

try {
  main();
} catch (error) {
  console.error(`[make-test-model] ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
