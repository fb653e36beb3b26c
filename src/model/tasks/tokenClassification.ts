/**
 * Token classification (NER, POS): each token's most probable label with its probability, and entities grouped as
 * transformers.js's token-classification pipeline does with `aggregation_strategy: 'simple'`: tokens labelled `O`
 * (and special tokens) are set aside first, then consecutive kept tokens with the same tag form one entity unless a
 * token starts a new one (`B-`, `S-`); an `E-` token closes it. Unlike Python's pipeline, which groups before it
 * drops `O`, `B-PER O I-PER` is one entity here, as it is in transformers.js.
 */
import type { Entity, TokenClassification, TokenRow } from '../../shared/analysis';
import { headLabels, softmax } from './textClassification';

/** Labels transformers.js's pipeline leaves out by default. */
const IGNORED = new Set(['O']);

function tagOf(label: string): [prefix: string, tag: string] {
  const prefix = label[0] ?? '';
  return label[1] === '-' && 'BIES'.includes(prefix) ? [prefix, label.slice(2)] : ['I', label];
}

/**
 * `logits` `[n, labels]` for the `n` tokens; `decode` turns token ids into the text of an entity.
 */
export function tokenClassification(
  logits: Float32Array,
  tokens: readonly TokenRow[],
  labels: readonly string[],
  decode: (ids: number[]) => string,
): TokenClassification {
  const n = tokens.length;
  const width = n > 0 ? logits.length / n : 0;
  const names = headLabels(labels, width);
  const perToken = tokens.map((token, index) => {
    if (token.special) return { label: -1, probability: 0 };
    const probabilities = softmax(Array.from(logits.subarray(index * width, (index + 1) * width)));
    let best = 0;
    probabilities.forEach((probability, label) => {
      if (probability > probabilities[best]!) best = label;
    });
    return { label: best, probability: probabilities[best]! };
  });
  const kept = perToken.flatMap((entry, index) => (entry.label >= 0 && !IGNORED.has(names[entry.label]!) ? [{ index, ...entry }] : []));
  const groups: Array<{ tag: string; members: typeof kept }> = [];
  let open: string | undefined;
  for (const entry of kept) {
    const [prefix, tag] = tagOf(names[entry.label]!);
    if (open === tag && prefix !== 'B' && prefix !== 'S') {
      groups[groups.length - 1]!.members.push(entry);
      if (prefix === 'E') open = undefined;
    } else {
      groups.push({ tag, members: [entry] });
      open = prefix === 'S' ? undefined : tag;
    }
  }
  const entities: Entity[] = groups.map(({ tag, members }) => ({
    label: tag,
    score: members.reduce((sum, member) => sum + member.probability, 0) / members.length,
    tokens: members.map((member) => member.index),
    word: decode(members.map((member) => tokens[member.index]!.id)),
  }));
  return { task: 'token-classification', labels: names, tokens: perToken, entities };
}
