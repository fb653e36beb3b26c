/**
 * Test models built on demand into `$ATTN_TOOLS_DIR/test-models` (default ~/.cache/attention-explorer/test-models),
 * never into the repository; a build is reused while its stamp (family, task, size, seed, builder version) matches.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDecoderFamily, type DecoderFamilyId, type FamilyId, type TaskId } from '../../src/shared/analysis';
import type { AttentionStyle } from '../../scripts/lib/testModels/decoderShapes';
import { makeTestModel, TEST_MODEL_VERSION, type TestModelDtype, type TestModelSize } from '../../scripts/lib/testModel';
import { sharedTokenizerDir } from './paths';

export const testModelsDir =
  process.env.ATTN_TEST_MODELS_DIR ??
  path.join(process.env.ATTN_TOOLS_DIR ?? path.join(os.homedir(), '.cache', 'attention-explorer'), 'test-models');

export interface TestModelKind {
  family?: FamilyId;
  task?: TaskId;
  multiLabel?: boolean;
  /** Decoders: the graph style (default unfused). */
  attention?: AttentionStyle;
  /** GPT-2: the If-merged decoder. */
  merged?: boolean;
}

/** A decoder test model's family and graph style. */
export interface DecoderVariant {
  family: DecoderFamilyId;
  attention: AttentionStyle;
  merged?: boolean;
}

/** Every decoder family in every graph style the hub has. */
export const DECODER_VARIANTS: readonly DecoderVariant[] = [
  { family: 'gpt2', attention: 'unfused' },
  { family: 'gpt2', attention: 'unfused', merged: true },
  { family: 'llama', attention: 'unfused' },
  { family: 'llama', attention: 'fused' },
  { family: 'qwen2', attention: 'unfused' },
  { family: 'qwen2', attention: 'fused' },
  { family: 'qwen3', attention: 'unfused' },
  { family: 'qwen3', attention: 'fused' },
];

/** The folder of a test model with the given ONNX variants, built if missing (DistilBERT SST-2-shaped by default). */
export function ensureTestModel(
  size: TestModelSize,
  seed = 42,
  dtypes: TestModelDtype[] = ['fp32', 'q8'],
  kind: TestModelKind = {},
): string {
  const family = kind.family ?? 'distilbert';
  const task = kind.task ?? (isDecoderFamily(family) ? 'text-generation' : 'text-classification');
  const style = isDecoderFamily(family) ? `-${kind.attention ?? 'unfused'}${kind.merged ? '-merged' : ''}` : '';
  const name = `${family}-${task}${style}${kind.multiLabel ? '-multi' : ''}-${size}-seed${seed}-v${TEST_MODEL_VERSION}`;
  const folder = path.join(testModelsDir, name);
  for (const dtype of dtypes) {
    const stamp = path.join(folder, `.built-${dtype}`);
    if (!fs.existsSync(stamp)) {
      makeTestModel({
        out: folder,
        family,
        task,
        size,
        dtypes: [dtype],
        seed,
        ...(kind.multiLabel ? { multiLabel: true } : {}),
        ...(kind.attention ? { attention: kind.attention } : {}),
        ...(kind.merged ? { merged: true } : {}),
        tokenizerDir: sharedTokenizerDir,
      });
      fs.writeFileSync(stamp, new Date().toISOString());
    }
  }
  return folder;
}

/**
 * Copies what an fp32 analysis of a test model reads (config, tokenizer, `onnx/model.onnx`, which may come from
 * another model) into `folder`, for tests that doctor a model; `editConfig` rewrites its config.json.
 */
export function copyTestModel(
  source: string,
  folder: string,
  options: { editConfig?: (config: Record<string, unknown>) => Record<string, unknown>; onnxFrom?: string } = {},
): string {
  fs.mkdirSync(path.join(folder, 'onnx'), { recursive: true });
  for (const name of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(source, name), path.join(folder, name));
  fs.copyFileSync(path.join(options.onnxFrom ?? source, 'onnx', 'model.onnx'), path.join(folder, 'onnx', 'model.onnx'));
  const config = JSON.parse(fs.readFileSync(path.join(source, 'config.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(folder, 'config.json'), JSON.stringify(options.editConfig ? options.editConfig(config) : config));
  return folder;
}
