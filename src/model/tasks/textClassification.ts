/**
 * The text-classification pipeline's post-processing, as transformers.js does it: softmax over the logits, or a
 * sigmoid per label for multi-label models (`problem_type: multi_label_classification`).
 */
import type { TextClassification } from '../../shared/analysis';

export function probabilitiesOf(logits: ArrayLike<number>, multiLabel: boolean): number[] {
  const values = Array.from(logits, Number);
  if (multiLabel) return values.map((value) => 1 / (1 + Math.exp(-value)));
  return softmax(values);
}

export function softmax(values: readonly number[]): number[] {
  let max = -Infinity;
  for (const value of values) if (value > max) max = value;
  const exps = values.map((value) => Math.exp(value - max));
  const sum = exps.reduce((total, value) => total + value, 0);
  return exps.map((value) => value / sum);
}

/** `logits` `[labels]` of one text. Labels beyond the logits are left out; missing ones are named `LABEL_i`. */
export function textClassification(logits: ArrayLike<number>, labels: readonly string[], multiLabel: boolean): TextClassification {
  const values = Array.from(logits, Number);
  return {
    task: 'text-classification',
    labels: values.map((_, index) => labels[index] ?? `LABEL_${index}`),
    logits: values,
    probabilities: probabilitiesOf(values, multiLabel),
    multiLabel,
  };
}
