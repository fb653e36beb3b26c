/**
 * The text-classification pipeline's post-processing, as transformers.js does it: softmax over the logits, or a
 * sigmoid per label for multi-label models (`problem_type: multi_label_classification`).
 */
import { MAX_LABELS, type TextClassification } from '../../shared/analysis';
import { AnalysisError } from '../../shared/errors';

/**
 * The labels of a head with `count` logits: the config's for the logits there are (labels beyond them are left out),
 * `LABEL_i` for those it does not name, as transformers.js does. A head wider than the views show is refused.
 */
export function headLabels(labels: readonly string[], count: number): string[] {
  if (count > MAX_LABELS) {
    throw new AnalysisError(
      'invalid-model',
      `The model's classifier has ${count} outputs per prediction, more than the ${MAX_LABELS} labels Attention Explorer shows; is it a classifier?`,
    );
  }
  return Array.from({ length: count }, (_, index) => labels[index] ?? `LABEL_${index}`);
}

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

/** `logits` `[labels]` of one text, named by {@link headLabels}. */
export function textClassification(logits: ArrayLike<number>, labels: readonly string[], multiLabel: boolean): TextClassification {
  const values = Array.from(logits, Number);
  return {
    task: 'text-classification',
    labels: headLabels(labels, values.length),
    logits: values,
    probabilities: probabilitiesOf(values, multiLabel),
    multiLabel,
  };
}
