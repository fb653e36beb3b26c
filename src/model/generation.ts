/**
 * Generation step by step with a decoder's key/value cache: each step feeds one token and the cache of everything
 * before it, and returns the token chosen next, its probability, and the attention row of the query that chose it
 * (every layer and head, over every position before it). Greedy at temperature 0; otherwise sampled from
 * `softmax(logits / T)` with NumPy's legacy generator, so that a seed repeats a run exactly.
 */
import { NumpyRandom } from '../engine';
import { AnalysisError } from '../shared/errors';
import type { DecoderSession, KeyValueCache } from './decoderSession';
import { OnDemandMaps } from './onDemandMaps';
import type { ScoreStep } from './onnx/instrument';

export interface GenerationSettings {
  /** 0: greedy (the most probable token); above 0: sample at this temperature. */
  temperature: number;
  /** The sampler's seed (ignored when greedy). */
  seed: number;
}

export interface GenerationStep {
  id: number;
  token: string;
  /** The token's probability under the distribution it was drawn from (temperature 1 when greedy). */
  probability: number;
  /** Per layer `[heads, positions]`: the row of the query that predicted this token. */
  attention: Float32Array[];
  /** The model's end-of-text token: generation stops after it. */
  stop: boolean;
}

/** The most tokens one generation adds to a text. */
export const MAX_GENERATED_TOKENS = 256;

/** Draws the next token from one logit row. */
export function chooseToken(
  logits: ArrayLike<number>,
  settings: GenerationSettings,
  random: NumpyRandom,
): { id: number; probability: number } {
  const temperature = settings.temperature > 0 ? settings.temperature : 1;
  let best = 0;
  for (let id = 1; id < logits.length; id += 1) if (logits[id]! > logits[best]!) best = id;
  const max = logits[best]!;
  const weights = new Float64Array(logits.length);
  let sum = 0;
  for (let id = 0; id < logits.length; id += 1) sum += weights[id] = Math.exp((logits[id]! - max) / temperature);
  if (settings.temperature <= 0) return { id: best, probability: weights[best]! / sum };
  let threshold = random.rand(1)[0]! * sum;
  for (let id = 0; id < logits.length; id += 1) {
    threshold -= weights[id]!;
    if (threshold < 0) return { id, probability: weights[id]! / sum };
  }
  return { id: best, probability: weights[best]! / sum };
}

export class Generation {
  private readonly random: NumpyRandom;
  private cache: KeyValueCache | undefined;
  /** The token fed at the next step: the text's last, then each generated one. */
  private pending: number;
  private stopped = false;
  readonly ids: number[] = [];

  private constructor(
    private readonly session: DecoderSession,
    private readonly settings: GenerationSettings,
    private readonly stopIds: ReadonlySet<number>,
    private readonly decode: (ids: readonly number[]) => string,
    private readonly maxPositions: number,
    last: number,
    cache: KeyValueCache | undefined,
    private readonly scoreSteps: readonly ScoreStep[] | undefined,
  ) {
    this.random = new NumpyRandom(settings.seed);
    this.pending = last;
    this.cache = cache;
  }

  /**
   * Runs the text but its last token once, to fill the cache; the first step then feeds the last token, whose query
   * predicts the first new token.
   */
  static async start(
    session: DecoderSession,
    ids: readonly number[],
    settings: GenerationSettings,
    model: {
      stopIds: readonly number[];
      maxPositions: number;
      decode: (ids: readonly number[]) => string;
      /** The graph's score steps, when it returns queries and keys: each step's row is computed from them. */
      scoreSteps?: readonly ScoreStep[];
    },
  ): Promise<Generation> {
    if (ids.length === 0) throw new AnalysisError('invalid-request', 'There is no text to continue.');
    if (!(settings.temperature >= 0 && settings.temperature <= 10)) {
      throw new AnalysisError('invalid-request', `The temperature must be between 0 and 10 (got ${settings.temperature}).`);
    }
    if (!Number.isInteger(settings.seed) || settings.seed < 0 || settings.seed > 0xffffffff) {
      throw new AnalysisError('invalid-request', `The seed must be a whole number from 0 to 4294967295 (got ${settings.seed}).`);
    }
    const prefix = ids.slice(0, -1);
    const cache = prefix.length > 0 ? (await session.run({ inputIds: [prefix] }, { cache: true })).cache : undefined;
    return new Generation(
      session,
      settings,
      new Set(model.stopIds),
      model.decode,
      model.maxPositions,
      ids.at(-1)!,
      cache,
      model.scoreSteps,
    );
  }

  /** Everything generated so far, decoded as one text (multi-byte characters split across tokens come out whole). */
  get text(): string {
    return this.decode(this.ids);
  }

  get done(): boolean {
    return this.stopped;
  }

  /** One more token, or undefined once the model ended the text or its context is full. */
  async step(): Promise<GenerationStep | undefined> {
    if (this.stopped) return undefined;
    const positions = (this.cache?.length ?? 0) + 1;
    if (positions > this.maxPositions || this.ids.length >= MAX_GENERATED_TOKENS) {
      this.stopped = true;
      return undefined;
    }
    const run = await this.session.run(
      { inputIds: [[this.pending]], ...(this.cache ? { past: this.cache } : {}) },
      this.scoreSteps ? { operands: true, cache: true } : { attentions: true, cache: true },
    );
    this.cache = run.cache;
    // The new token's row of each layer, `[heads, 1, total]`: from its query and every key when the graph returns them.
    const attention = this.scoreSteps
      ? await new OnDemandMaps(run.layerOperands!, this.session.shape.heads, 1, this.scoreSteps, true, run.total).everyLayer()
      : run.attentions!;
    const { id, probability } = chooseToken(run.logits, this.settings, this.random);
    this.ids.push(id);
    this.pending = id;
    const stop = this.stopIds.has(id);
    if (stop) this.stopped = true;
    return { id, token: this.decode([id]), probability, attention, stop };
  }
}
