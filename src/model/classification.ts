/**
 * The text-classification pipeline's post-processing, as transformers.js does it: softmax over the logits (sigmoid
 * for multi-label models), labels from the config's `id2label`.
 */
export interface ClassifierConfig {
  id2label?: Record<string, string>;
  problem_type?: string;
}

export function labelsOf(config: ClassifierConfig, count: number): string[] {
  return Array.from({ length: count }, (_, index) => config.id2label?.[String(index)] ?? `LABEL_${index}`);
}

export function probabilitiesOf(logits: ArrayLike<number>, config: ClassifierConfig): number[] {
  const values = Array.from(logits, Number);
  if (config.problem_type === 'multi_label_classification') {
    return values.map((value) => 1 / (1 + Math.exp(-value)));
  }
  const max = Math.max(...values);
  const exps = values.map((value) => Math.exp(value - max));
  const sum = exps.reduce((total, value) => total + value, 0);
  return exps.map((value) => value / sum);
}
