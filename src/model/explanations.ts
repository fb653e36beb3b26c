/**
 * Why the model said what it said, by intervention: switch heads off (ablation, and the 72-head importance sweep) or
 * take tokens away (occlusion), and watch the predicted label's probability. Everything runs batched through the
 * {@link LayerChain}; a head's ablation starts at its own layer from hidden states computed once.
 *
 * Sign convention everywhere: `delta = p(after the intervention) − p(before)` for the label predicted before. A
 * negative delta means the head or token supported the prediction.
 */
import { argmax, groupWordPieces, normaliseHeadImportance } from '../engine';
import type { TokenRow } from '../shared/analysis';
import type { Ablation, HeadImportance, OcclusionMode, OcclusionResult, OcclusionUnit, Prediction } from '../shared/analysisViews';
import type { ChainRow, LayerChain } from './layerChain';

/** Logits → label probabilities (the pipeline's post-processing). */
export type ToProbabilities = (logits: ArrayLike<number>) => number[];

function predictionOf(logits: ArrayLike<number>, toProbabilities: ToProbabilities): Prediction {
  return predictionOfProbabilities(toProbabilities(logits));
}

function predictionOfProbabilities(probabilities: number[]): Prediction {
  return { label: argmax(probabilities), probabilities };
}

function rowsOf(logits: Float32Array, labels: number): Float32Array[] {
  return Array.from({ length: logits.length / labels }, (_, row) => logits.subarray(row * labels, (row + 1) * labels));
}

/** A head mask `[layers × heads]` with every head on except `off`. */
export function maskWithout(layers: number, heads: number, off: ReadonlyArray<{ layer: number; head: number }>): Float32Array {
  const mask = new Float32Array(layers * heads).fill(1);
  for (const { layer, head } of off) mask[layer * heads + head] = 0;
  return mask;
}

/** A head mask with only `on` switched on ("ablate all but these"). */
export function maskOnly(layers: number, heads: number, on: ReadonlyArray<{ layer: number; head: number }>): Float32Array {
  const mask = new Float32Array(layers * heads);
  for (const { layer, head } of on) mask[layer * heads + head] = 1;
  return mask;
}

/** The prediction with the heads a mask switches off; the original in the same batch. */
export async function ablate(
  chain: LayerChain,
  ids: readonly number[],
  headMask: Float32Array,
  toProbabilities: ToProbabilities,
): Promise<Ablation> {
  const logits = await chain.logits([{ ids }, { ids, headMask }]);
  const [before, after] = rowsOf(logits, logits.length / 2);
  const original = predictionOf(before!, toProbabilities);
  const probabilities = toProbabilities(after!);
  return { original, probabilities, delta: probabilities[original.label]! - original.probabilities[original.label]! };
}

/**
 * Logits with every head switched off alone: `[layer * heads + head]`, and the unablated logits. The lower layers run
 * once (batch of one, keeping each layer's input); then, layer by layer, the rows that ablate a head of this layer
 * join the rows already running from below, in one batch.
 */
export async function singleHeadAblationLogits(
  chain: LayerChain,
  ids: readonly number[],
): Promise<{ original: Float32Array; ablated: Float32Array[] }> {
  const { layers, heads } = chain.shape;
  const inputs: Array<Float32Array | undefined> = [undefined];
  let state: Float32Array[] | undefined;
  for (let layer = 0; layer < layers; layer += 1) {
    state = await chain.segment(layer, [{ ids }], state);
    if (layer < layers - 1) inputs.push(state[0]);
  }
  let rows: ChainRow[] = [];
  let hidden: Float32Array[] = [];
  for (let layer = 0; layer < layers; layer += 1) {
    const joining = Array.from({ length: heads }, (_, head): ChainRow => ({
      ids,
      headMask: maskWithout(layers, heads, [{ layer, head }]),
    }));
    rows = [...rows, ...joining];
    const inputsOfRows = layer === 0 ? undefined : [...hidden, ...joining.map(() => inputs[layer]!)];
    hidden = await chain.segment(layer, rows, inputsOfRows);
  }
  return { original: state![0]!, ablated: hidden };
}

/** The 72-head sweep: Δ of the predicted label's probability per head, raw and normalised. */
export async function headImportance(chain: LayerChain, ids: readonly number[], toProbabilities: ToProbabilities): Promise<HeadImportance> {
  const { layers, heads } = chain.shape;
  const { original: logits, ablated } = await singleHeadAblationLogits(chain, ids);
  const original = predictionOf(logits, toProbabilities);
  const deltas = Array.from({ length: layers }, (_, layer) =>
    Array.from(
      { length: heads },
      (_, head) => toProbabilities(ablated[layer * heads + head]!)[original.label]! - original.probabilities[original.label]!,
    ),
  );
  return { ...original, deltas, normalised: normaliseHeadImportance(deltas.map((layer) => layer.map((delta) => -delta))) };
}

/** The units occlusion takes away: each non-special token, or each word (its word pieces together). */
export function occlusionUnits(tokens: readonly Pick<TokenRow, 'text' | 'special'>[], unit: OcclusionUnit): number[][] {
  const groups = unit === 'word' ? groupWordPieces(tokens) : tokens.map((_, index) => [index]);
  return groups.filter((group) => group.every((index) => !tokens[index]!.special));
}

/** Ids with a unit occluded: its tokens replaced by the mask token, or removed. */
export function occludedIds(ids: readonly number[], indices: readonly number[], mode: OcclusionMode, maskId: number): number[] {
  const occluded = new Set(indices);
  return mode === 'mask' ? ids.map((id, index) => (occluded.has(index) ? maskId : id)) : ids.filter((_, index) => !occluded.has(index));
}

/** Each unit occluded in turn, in as few batched runs as the rows' lengths allow (one when masking). */
export async function occlusion(
  chain: LayerChain,
  tokens: readonly Pick<TokenRow, 'id' | 'text' | 'special'>[],
  options: { mode: OcclusionMode; unit: OcclusionUnit; maskId: number },
  toProbabilities: ToProbabilities,
): Promise<OcclusionResult> {
  const ids = tokens.map((token) => token.id);
  const units = occlusionUnits(tokens, options.unit);
  const rows = units.map((indices) => occludedIds(ids, indices, options.mode, options.maskId));
  // The unoccluded text rides in the batch of rows of its length (all of them, when masking).
  const all = [ids, ...rows];
  const byLength = new Map<number, number[]>();
  all.forEach((row, index) => byLength.set(row.length, [...(byLength.get(row.length) ?? []), index]));
  const probabilities: number[][] = [];
  for (const members of byLength.values()) {
    const logits = await chain.logits(members.map((index) => ({ ids: all[index]! })));
    const labels = logits.length / members.length;
    members.forEach(
      (index, position) => (probabilities[index] = toProbabilities(logits.subarray(position * labels, (position + 1) * labels))),
    );
  }
  const original = predictionOfProbabilities(probabilities[0]!);
  return {
    ...original,
    mode: options.mode,
    unit: options.unit,
    units: units.map((indices, index) => ({
      indices,
      delta: probabilities[index + 1]![original.label]! - original.probabilities[original.label]!,
      probabilities: probabilities[index + 1]!,
    })),
  };
}
