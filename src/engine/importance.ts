/**
 * Head importance as Michel et al. (2019, "Are Sixteen Heads Really Better than One?") normalise it: each layer's
 * scores divided by that layer's L2 norm, then all scores min-max scaled to [0, 1] over the whole model.
 */

/** `[layers][heads]` scores → the same shape, normalised; a layer of zeros stays zero, equal scores become 0. */
export function normaliseHeadImportance(scores: readonly (readonly number[])[]): number[][] {
  const perLayer = scores.map((layer) => {
    const norm = Math.sqrt(layer.reduce((sum, value) => sum + value * value, 0));
    return layer.map((value) => (norm > 0 ? value / norm : 0));
  });
  const all = perLayer.flat();
  const min = Math.min(...all);
  const max = Math.max(...all);
  return perLayer.map((layer) => layer.map((value) => (max > min ? (value - min) / (max - min) : 0)));
}
