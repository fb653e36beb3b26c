/**
 * Reading config.json values, for the family modules: each names its own keys, these helpers only check them.
 */
import { MAX_LABELS } from '../../shared/analysis';
import { AnalysisError } from '../../shared/errors';
import type { FamilyConfig, TaskId } from './family';

/**
 * Most layers and heads a model may claim: far beyond any model Attention Explorer can hold the attention of, small
 * enough to refuse nonsense. The instrumentation checks its callers' claims against the same caps.
 */
export const MAX_LAYERS = 256;
export const MAX_HEADS = 256;
/** The longest label kept from a config, in characters; a longer one is cut and ends in "…". */
const MAX_LABEL_LENGTH = 64;

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

/** `text`, cut to {@link MAX_LABEL_LENGTH} characters (whole code points) with "…" at the end if it is longer. */
function shortened(text: string): string {
  const characters = Array.from(text);
  return characters.length > MAX_LABEL_LENGTH ? `${characters.slice(0, MAX_LABEL_LENGTH - 1).join('')}…` : text;
}

/**
 * The task head's labels from `id2label`, in index order (`LABEL_i` for an index it skips), each shortened to
 * {@link MAX_LABEL_LENGTH} characters; how many the head has is the graph's to say (see `tasks/`). An `id2label` that
 * cannot name labels is reported in `labelsProblem`, which refuses the tasks that show labels only.
 */
export function labelsOf(raw: RawConfig, file: string): Pick<FamilyConfig, 'labels' | 'labelsProblem'> {
  const table = raw.id2label;
  const problem = (what: string) => ({
    labels: [],
    labelsProblem: `${file}: ${what}; a classifier's labels are written "id2label": { "0": "NEGATIVE", "1": "POSITIVE" }.`,
  });
  if (table === undefined || table === null) return { labels: [] };
  if (typeof table !== 'object' || Array.isArray(table))
    return problem(`id2label is not an object (it is ${shortened(JSON.stringify(table))})`);
  const labels: string[] = [];
  for (const [key, label] of Object.entries(table as Record<string, unknown>)) {
    if (!/^\d+$/.test(key)) return problem(`id2label key ${shortened(JSON.stringify(key))} is not a label index (0, 1, …)`);
    if (typeof label !== 'string')
      return problem(
        `id2label ${shortened(JSON.stringify(key))} is not a string (it is ${shortened(JSON.stringify(label) ?? String(label))})`,
      );
    // A head with more logits than this is refused, so labels past it are never shown.
    if (Number(key) < MAX_LABELS) labels[Number(key)] = shortened(label);
  }
  return { labels: Array.from(labels, (label, index) => label ?? `LABEL_${index}`) };
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
