/**
 * Reading config.json values, for the family modules: each names its own keys, these helpers only check them.
 */
import { AnalysisError } from '../../shared/errors';
import type { TaskId } from './family';

/**
 * Most layers and heads a model may claim: far beyond any model Attention Explorer can hold the attention of, small
 * enough to refuse nonsense. The instrumentation checks its callers' claims against the same caps.
 */
export const MAX_LAYERS = 256;
export const MAX_HEADS = 256;
/** The most labels a task head may have that the views show (a vocabulary-sized head is a language model head). */
const MAX_LABELS = 10_000;

export type RawConfig = Record<string, unknown>;

/** A positive integer at `key`, or a refusal naming the file and the key. */
export function positiveInteger(raw: RawConfig, key: string, file: string, max = Number.MAX_SAFE_INTEGER): number {
  const value = raw[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > max) {
    throw new AnalysisError(
      'invalid-model',
      `${file} has no valid ${key} (a whole number from 1 to ${max}; it has ${JSON.stringify(value ?? null)}).`,
    );
  }
  return value;
}

export const layerCount = (raw: RawConfig, key: string, file: string) => positiveInteger(raw, key, file, MAX_LAYERS);
export const headCount = (raw: RawConfig, key: string, file: string) => positiveInteger(raw, key, file, MAX_HEADS);

export function optionalNumber(raw: RawConfig, key: string): number | undefined {
  const value = raw[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function stringList(raw: RawConfig, key: string): string[] {
  const value = raw[key];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string').slice(0, 32) : [];
}

/** The task head's labels: `id2label` in index order (`LABEL_i` where it has none), for `count` logits. */
export function labelsOf(raw: RawConfig, count?: number): string[] {
  const table = raw.id2label && typeof raw.id2label === 'object' ? (raw.id2label as Record<string, unknown>) : {};
  const declared = Object.keys(table).filter((key) => /^\d+$/.test(key)).length;
  const size = Math.min(MAX_LABELS, count ?? (declared || 2));
  return Array.from({ length: size }, (_, index) => {
    const label = table[String(index)];
    return typeof label === 'string' ? label : `LABEL_${index}`;
  });
}

/** The task an architecture's class name stands for (`BertForTokenClassification` → token classification). */
export function taskOfArchitecture(architecture: string): TaskId | undefined {
  if (architecture.endsWith('ForSequenceClassification')) return 'text-classification';
  if (architecture.endsWith('ForTokenClassification')) return 'token-classification';
  if (architecture.endsWith('ForMaskedLM')) return 'fill-mask';
  if (architecture.endsWith('ForCausalLM') || architecture.endsWith('LMHeadModel')) return 'text-generation';
  if (/Model$/.test(architecture)) return 'feature-extraction';
  return undefined;
}

/** The tasks a config's architectures name, in order, without repeats; text classification when it names none. */
export function tasksOf(architectures: readonly string[]): TaskId[] {
  const tasks = architectures.map(taskOfArchitecture).filter((task): task is TaskId => task !== undefined);
  return tasks.length > 0 ? [...new Set(tasks)] : architectures.length > 0 ? [] : ['text-classification'];
}
