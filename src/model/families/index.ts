/**
 * The families the extension reads, and the one way to find a model's: by config.json's `model_type`. A model of any
 * other type is refused with its `model_type` and `architectures` named.
 */
import * as fs from 'node:fs';
import { AnalysisError } from '../../shared/errors';
import { bert } from './bert';
import { distilbert } from './distilbert';
import { gpt2 } from './gpt2';
import { llama, qwen2, qwen3 } from './llama';
import type { FamilyConfig, ModelFamily, TaskId } from './family';
import { roberta } from './roberta';

export type { FamilyConfig, GraphInput, GraphPattern, ModelFamily, TaskId } from './family';

export const FAMILY_MODULES: readonly ModelFamily[] = [distilbert, bert, roberta, gpt2, llama, qwen2, qwen3];

/** config.json files larger than this are not configs (the largest real ones are a few hundred kB of labels). */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

export interface ModelConfig {
  family: ModelFamily;
  config: FamilyConfig;
}

/** The family of a parsed config.json, or a refusal that says what the model is. */
export function familyOf(raw: Record<string, unknown>, file: string): ModelFamily {
  const modelType = typeof raw.model_type === 'string' ? raw.model_type : undefined;
  const family = FAMILY_MODULES.find((candidate) => modelType !== undefined && candidate.modelTypes.includes(modelType));
  if (!family) {
    const architectures = Array.isArray(raw.architectures) ? raw.architectures.filter((item) => typeof item === 'string').join(', ') : '';
    const supported = FAMILY_MODULES.flatMap((candidate) => candidate.modelTypes).join(', ');
    throw new AnalysisError(
      'invalid-model',
      `Attention Explorer reads models of type ${supported}; this one (${file}) is model_type "${modelType ?? 'unknown'}"${architectures ? ` with architectures ${architectures}` : ''}.`,
    );
  }
  return family;
}

/** Reads and checks a model's config.json through its family. */
export function readModelConfig(file: string): ModelConfig {
  let raw: unknown;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_CONFIG_BYTES) throw new Error(`it is ${size} bytes`);
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new AnalysisError('invalid-model', `${file} is not readable JSON (${error instanceof Error ? error.message : String(error)}).`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new AnalysisError('invalid-model', `${file} does not hold a JSON object.`);
  const record = raw as Record<string, unknown>;
  const family = familyOf(record, file);
  const config = family.readConfig(record, file);
  if (!config.causal && config.hidden % config.heads !== 0) {
    throw new AnalysisError('invalid-model', `${file}: ${config.hidden} hidden units do not split into ${config.heads} heads.`);
  }
  if (config.tasks.length === 0) {
    throw new AnalysisError(
      'invalid-model',
      `${file} names architectures ${config.architectures.join(', ')}; Attention Explorer reads text classification, token classification, fill-mask, feature extraction and causal language models.`,
    );
  }
  return { family, config };
}

/** The tasks whose predictions are named by the config's labels. */
const LABELLED_TASKS: readonly TaskId[] = ['text-classification', 'token-classification'];

/**
 * The task to run: the one asked for, if the model offers it, or the model's default; refused when it shows labels
 * and the config's cannot be read.
 */
export function chooseTask(config: FamilyConfig, requested: TaskId | undefined): TaskId {
  if (requested !== undefined && !config.tasks.includes(requested)) {
    throw new AnalysisError(
      'invalid-model',
      `This model offers ${config.tasks.join(', ')}, not ${requested} (its architectures are ${config.architectures.join(', ') || 'not named'}).`,
    );
  }
  const task = requested ?? config.tasks[0]!;
  if (config.labelsProblem !== undefined && LABELLED_TASKS.includes(task)) throw new AnalysisError('invalid-model', config.labelsProblem);
  return task;
}
