/**
 * Why the model said what it said, by intervention: switch heads off (ablation, and the importance sweep over every
 * head) or take tokens away (occlusion), and watch the probability of what was predicted at one token: a text's label
 * (at its first token), one token's label, or one mask's most probable token. Everything runs batched through the
 * {@link LayerChain}; a head's ablation starts at its own layer from hidden states computed once.
 *
 * Sign convention everywhere: `delta = p(after the intervention) − p(before)` for the label predicted before. A
 * negative delta means the head or token supported the prediction.
 */
import { argmax, groupWordPieces, normaliseHeadImportance } from '../engine';
import type { TokenRow } from '../shared/analysis';
import type { Ablation, HeadImportance, OcclusionMode, OcclusionResult, OcclusionUnit, Prediction } from '../shared/analysisViews';
import { throwIfCancelled } from '../shared/errors';
import { LayerChain, type ChainRow } from './layerChain';

/**
 * What interventions run on: an encoder's {@link LayerChain}, or a decoder's whole graph with a head mask
 * (`decoderInterventions.ts`). `outputs` gives each row's head output.
 */
export interface InterventionRunner {
  readonly shape: { layers: number; heads: number };
  readonly lastLayer: LayerChain['lastLayer'];
  outputs(rows: readonly ChainRow[]): Promise<Float32Array[]>;
  /** How many rows of n tokens one batched run takes (what fits the runner's working-set budget). */
  rowsPerRun(n: number): number;
}

/** How a long intervention is stopped and watched: checked and reported between batched runs. */
export interface JobControl {
  signal?: AbortSignal;
  /**
   * `done` of `total` units of work (rows, or rows × layers for a sweep through the layer chain), and for occlusion
   * the units finished since the last report, so that a view can show them before the rest.
   */
  onProgress?: (done: number, total: number, occluded?: OccludedUnit[]) => void;
}

/** One occluded unit as soon as it is known: its token indices and the change of the watched probability. */
export interface OccludedUnit {
  indices: number[];
  delta: number;
}

/**
 * Each row's output, in runs of at most `rowsPerRun` rows (rows of one length): between runs the job can be cancelled
 * and reports progress, and only one run's hidden states are alive at a time.
 */
async function outputsInRuns(
  chain: InterventionRunner,
  rows: readonly ChainRow[],
  control: JobControl,
  progress: { done: number; total: number },
  /** Called with each run's first row and outputs; what it returns goes out with the progress. */
  onOutputs?: (start: number, outputs: readonly Float32Array[]) => OccludedUnit[] | undefined,
): Promise<Float32Array[]> {
  if (rows.length === 0) return [];
  const size = chain.rowsPerRun(rows[0]!.ids.length);
  const out: Float32Array[] = [];
  for (let start = 0; start < rows.length; start += size) {
    throwIfCancelled(control.signal);
    const part = rows.slice(start, start + size);
    const results = await chain.outputs(part);
    out.push(...results);
    progress.done += part.length;
    const occluded = onOutputs?.(start, results);
    control.onProgress?.(progress.done, progress.total, occluded);
  }
  return out;
}

/** The probabilities an intervention watches, read from the head's output at the target token. */
export interface Explained {
  /** The labels the probabilities are over (every label; for fill-mask, the mask's most probable tokens). */
  labels: string[];
  score(output: Float32Array): number[];
}

/** What is explained: the output at one token, read through what the unmodified run predicted there. */
export interface ExplainTarget {
  /** The token whose output is explained (0 for a text classifier, which reads the first token). */
  position: number;
  /** From the unmodified run's output at `position`: which labels to watch and how to score them. */
  explain(original: Float32Array): Explained;
}

/** The head's output for one token of a row: the whole row for a classifier's `[labels]`, else one position. */
function outputAt(chain: InterventionRunner, output: Float32Array, row: ChainRow, positionsInRow: number): Float32Array {
  if (positionsInRow <= 1) return output;
  const width = output.length / positionsInRow;
  const position = chain.lastLayer === 'target-position' ? 0 : (row.targetPosition ?? 0);
  return output.subarray(position * width, (position + 1) * width);
}

/** Runs rows and reads each one's probabilities at its target. */
class Watch {
  private explained: Explained | undefined;

  constructor(
    private readonly chain: InterventionRunner,
    private readonly target: ExplainTarget,
    private readonly positionsOf: (row: ChainRow) => number,
  ) {}

  /** The first call must be the unmodified row: it fixes the labels watched. */
  probabilities(output: Float32Array, row: ChainRow): number[] {
    const at = outputAt(this.chain, output, row, this.positionsOf(row));
    this.explained ??= this.target.explain(at);
    return this.explained.score(at);
  }

  get labels(): string[] {
    return this.explained?.labels ?? [];
  }
}

/** How many positions a row's head output has: one for a classifier; the row's tokens, or 1 for a one-token chain. */
function positionsFor(chain: InterventionRunner, perToken: boolean): (row: ChainRow) => number {
  return (row) => (!perToken ? 1 : chain.lastLayer === 'target-position' ? 1 : row.ids.length);
}

function predictionOf(probabilities: number[], labels: string[], position: number): Prediction {
  return { label: argmax(probabilities), probabilities, labels, position };
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

/** Options every intervention takes: the target, and whether the head's output has a position axis. */
export interface InterventionOptions {
  target: ExplainTarget;
  /** The head writes one output per token (token classification, fill-mask), not one per text. */
  perToken: boolean;
}

/** The prediction with the heads a mask switches off; the original in the same batch. */
export async function ablate(
  chain: InterventionRunner,
  ids: readonly number[],
  headMask: Float32Array,
  options: InterventionOptions,
  control: JobControl = {},
): Promise<Ablation> {
  throwIfCancelled(control.signal);
  const rows: ChainRow[] = [
    { ids, targetPosition: options.target.position },
    { ids, headMask, targetPosition: options.target.position },
  ];
  const [before, after] = await chain.outputs(rows);
  const watch = new Watch(chain, options.target, positionsFor(chain, options.perToken));
  const original = predictionOf(watch.probabilities(before!, rows[0]!), watch.labels, options.target.position);
  const probabilities = watch.probabilities(after!, rows[1]!);
  return { original, probabilities, delta: probabilities[original.label]! - original.probabilities[original.label]! };
}

/**
 * The head's output with every head switched off alone (`[layer * heads + head]`), and the unablated output. The lower
 * layers run once (batch of one, keeping each layer's input); then, layer by layer, the rows that ablate a head of this
 * layer join the rows already running from below, in one batch.
 */
export async function singleHeadAblationOutputs(
  chain: InterventionRunner,
  ids: readonly number[],
  targetPosition = 0,
  control: JobControl = {},
): Promise<{ original: Float32Array; ablated: Float32Array[]; rows: ChainRow[] }> {
  const { layers, heads } = chain.shape;
  if (!(chain instanceof LayerChain)) {
    // A whole graph: every row from the start, all in batched calls.
    const rows: ChainRow[] = [
      { ids, targetPosition },
      ...Array.from({ length: layers * heads }, (_, index) => ({
        ids,
        targetPosition,
        headMask: maskWithout(layers, heads, [{ layer: Math.floor(index / heads), head: index % heads }]),
      })),
    ];
    const [original, ...ablated] = await outputsInRuns(chain, rows, control, { done: 0, total: rows.length });
    return { original: original!, ablated, rows };
  }
  // Work in row-layers: the plain row through every layer, then at layer l the (l + 1)·heads rows ablating up to it.
  const progress = { done: 0, total: layers + (heads * layers * (layers + 1)) / 2 };
  const counted = {
    signal: control.signal,
    onRows: (count: number) => {
      progress.done += count;
      control.onProgress?.(progress.done, progress.total);
    },
  };
  const inputs: Array<Float32Array | undefined> = [undefined];
  const plain: ChainRow = { ids, targetPosition };
  let state: Float32Array[] | undefined;
  for (let layer = 0; layer < layers; layer += 1) {
    state = await chain.segment(layer, [plain], state, counted);
    if (layer < layers - 1) inputs.push(state[0]);
  }
  let rows: ChainRow[] = [];
  let hidden: Float32Array[] = [];
  for (let layer = 0; layer < layers; layer += 1) {
    const joining = Array.from({ length: heads }, (_, head): ChainRow => ({
      ids,
      targetPosition,
      headMask: maskWithout(layers, heads, [{ layer, head }]),
    }));
    rows = [...rows, ...joining];
    const inputsOfRows = layer === 0 ? undefined : [...hidden, ...joining.map(() => inputs[layer]!)];
    hidden = await chain.segment(layer, rows, inputsOfRows, counted);
  }
  return { original: state![0]!, ablated: hidden, rows: [plain, ...rows] };
}

/** The sweep: Δ of the predicted label's probability with each head switched off alone, raw and normalised. */
export async function headImportance(
  chain: InterventionRunner,
  ids: readonly number[],
  options: InterventionOptions,
  control: JobControl = {},
): Promise<HeadImportance> {
  const { layers, heads } = chain.shape;
  const { original: output, ablated, rows } = await singleHeadAblationOutputs(chain, ids, options.target.position, control);
  const watch = new Watch(chain, options.target, positionsFor(chain, options.perToken));
  const original = predictionOf(watch.probabilities(output, rows[0]!), watch.labels, options.target.position);
  const before = original.probabilities[original.label]!;
  const deltas = Array.from({ length: layers }, (_, layer) =>
    Array.from({ length: heads }, (_, head) => {
      const index = layer * heads + head;
      return watch.probabilities(ablated[index]!, rows[index + 1]!)[original.label]! - before;
    }),
  );
  return { ...original, deltas, normalised: normaliseHeadImportance(deltas.map((layer) => layer.map((delta) => -delta))) };
}

/**
 * The units occlusion takes away: each non-special token, or each word (its word pieces together), never the token
 * being explained.
 */
export function occlusionUnits(tokens: readonly Pick<TokenRow, 'text' | 'special'>[], unit: OcclusionUnit, keep?: number): number[][] {
  const groups = unit === 'word' ? groupWordPieces(tokens) : tokens.map((_, index) => [index]);
  return groups.filter((group) => group.every((index) => !tokens[index]!.special && index !== keep));
}

/** Ids with a unit occluded: its tokens replaced by the mask token, or removed. */
export function occludedIds(ids: readonly number[], indices: readonly number[], mode: OcclusionMode, maskId: number): number[] {
  const occluded = new Set(indices);
  return mode === 'mask' ? ids.map((id, index) => (occluded.has(index) ? maskId : id)) : ids.filter((_, index) => !occluded.has(index));
}

/** Each unit occluded in turn, in as few batched runs as the rows' lengths allow (one when masking). */
export async function occlusion(
  chain: InterventionRunner,
  tokens: readonly Pick<TokenRow, 'id' | 'text' | 'special'>[],
  options: InterventionOptions & { mode: OcclusionMode; unit: OcclusionUnit; maskId: number },
  control: JobControl = {},
): Promise<OcclusionResult> {
  const ids = tokens.map((token) => token.id);
  const position = options.target.position;
  // A per-token head is explained at its own token, which stays; a text classifier's target token (the first) is special.
  const units = occlusionUnits(tokens, options.unit, options.perToken ? position : undefined);
  const rows: ChainRow[] = [
    { ids, targetPosition: position },
    ...units.map((indices) => ({
      ids: occludedIds(ids, indices, options.mode, options.maskId),
      // Removing tokens before the target moves it.
      targetPosition: options.mode === 'remove' ? position - indices.filter((index) => index < position).length : position,
    })),
  ];
  // The unoccluded text rides in the batch of rows of its length (all of them, when masking).
  const byLength = new Map<number, number[]>();
  rows.forEach((row, index) => byLength.set(row.ids.length, [...(byLength.get(row.ids.length) ?? []), index]));
  const outputs: Float32Array[] = [];
  const progress = { done: 0, total: rows.length };
  const watch = new Watch(chain, options.target, positionsFor(chain, options.perToken));
  let original: ReturnType<typeof predictionOf> | undefined;
  const unitOf = (index: number) => {
    const probabilities = watch.probabilities(outputs[index + 1]!, rows[index + 1]!);
    return { indices: units[index]!, delta: probabilities[original!.label]! - original!.probabilities[original!.label]!, probabilities };
  };
  // The unoccluded text is the first row of the first run: every unit after it is reported as soon as it is known.
  for (const members of byLength.values()) {
    await outputsInRuns(
      chain,
      members.map((index) => rows[index]!),
      control,
      progress,
      (start, results) => {
        const done = members.slice(start, start + results.length);
        done.forEach((index, offset) => (outputs[index] = results[offset]!));
        original ??= outputs[0] ? predictionOf(watch.probabilities(outputs[0], rows[0]!), watch.labels, position) : undefined;
        if (!original) return undefined;
        return done.filter((index) => index > 0).map((index) => ({ indices: units[index - 1]!, delta: unitOf(index - 1).delta }));
      },
    );
  }
  original ??= predictionOf(watch.probabilities(outputs[0]!, rows[0]!), watch.labels, position);
  return {
    ...original,
    mode: options.mode,
    unit: options.unit,
    units: units.map((_, index) => unitOf(index)),
  };
}
