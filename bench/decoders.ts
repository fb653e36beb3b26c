/**
 * Decoder language models at full size (random weights in Qwen2.5-0.5B's shape: 24 layers, 14 query / 2 key-value
 * heads, d = 896, vocabulary 151,936), in both export styles (optimum's unfused graph, onnxruntime-genai's fused
 * GroupQueryAttention). Two comparisons, each alternating in one run:
 * - an analysis (tokens with offsets, the next-token prediction and every token's probability, every layer's and
 *   head's attention, in the worker) against the plain transformers.js forward of the same graph on the same ids;
 * - generation with each step's attention row (the worker, one request per token, with the key/value cache) against
 *   transformers.js `generate()` (greedy, the same number of new tokens), in tokens per second.
 */
import * as path from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, env, type PreTrainedModel } from '@huggingface/transformers';
import { DECODER_SIZES, type AttentionStyle } from '../scripts/lib/testModels/decoderShapes';
import type { ModelRequest } from '../src/model/modelSource';
import { ensureTestModel } from '../test/support/testModels';
import { matMulRate } from './limit';
import type { AnalysisWorkerClient } from '../src/model/analysisWorker';
import { gridLayersPerRequest } from '../src/shared/analysisViews';
import { AnalysisError } from '../src/shared/errors';
import { benchWorker, comparisonCells, formatMs, interleaved, textOfTokens, timed, type Goal, type Section } from './lib';

const FAMILY = 'qwen2';
const NEW_TOKENS = 16;

/** The arithmetic of one forward pass over n new tokens after `past` cached ones (multiply-adds × 2). */
function decoderFlops(n: number, past: number): number {
  const { layers, heads, kvHeads, headDim, hidden, intermediate } = DECODER_SIZES[FAMILY].full;
  const vocab = 151_936;
  const total = past + n;
  const projections = 2 * n * hidden * (heads * headDim + 2 * kvHeads * headDim) + 2 * n * heads * headDim * hidden;
  const attention = 2 * 2 * n * total * heads * headDim;
  const mlp = 3 * 2 * n * hidden * intermediate;
  return layers * (projections + attention + mlp) + 2 * n * hidden * vocab;
}

/** One more analysis of `text` with memory sampled, then one head and the whole grid on demand. */
async function atScale(
  worker: AnalysisWorkerClient,
  request: ModelRequest,
  attention: string,
  text: string,
  n: number,
): Promise<{
  row: string[];
  growth: number;
  kvCache: number;
  oneHeadMs: number;
  gridMs: number;
  firstRowsMs: number;
  firstLayers: number;
}> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  await worker.request('analyze', { analysisId: `${attention}-scale`, request, text });
  clearInterval(sampler);
  const { layers, heads, kvHeads, headDim } = DECODER_SIZES[FAMILY].full;
  const kvCache = 2 * layers * kvHeads * headDim * n * 4;
  const view = { hideSpecial: false, mergeWords: false };
  const oneHead = await timed(
    () => worker.request('headMap', { analysisId: `${attention}-scale`, layer: layers - 1, head: 13, options: view }),
    9,
  );
  const gridStart = performance.now();
  await worker.request('grid', { analysisId: `${attention}-scale`, size: 64, options: view });
  const gridMs = performance.now() - gridStart;
  // What the model view asks for first at this length (and draws as soon as it comes): the top rows of the grid.
  const firstLayers = gridLayersPerRequest(layers, heads, n);
  const firstRowsMs = await timed(
    () => worker.request('grid', { analysisId: `${attention}-scale`, size: 64, options: view, layers: { first: 0, count: firstLayers } }),
    3,
  );
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  const growth = peak - before;
  return {
    row: [
      attention,
      String(n),
      mib(growth),
      mib(kvCache),
      `${(growth / kvCache).toFixed(1)}×`,
      formatMs(oneHead),
      formatMs(gridMs),
      `${formatMs(firstRowsMs)} (${firstLayers} of ${layers} layers)`,
    ],
    growth,
    kvCache,
    oneHeadMs: oneHead,
    gridMs,
    firstRowsMs,
    firstLayers,
  };
}

export async function runDecodersBench(
  sizes: number[] = [128, 512, 1024, 2048],
  styles: AttentionStyle[] = ['unfused', 'fused'],
): Promise<Section> {
  const { storageDir, worker } = benchWorker('decoders');
  const rate = await matMulRate(512, 3);
  const forwardRows: string[][] = [];
  const scaleRows: string[][] = [];
  const refusals: string[] = [];
  const generationRows: string[][] = [];
  const goals: Goal[] = [];
  const builds: string[] = [];
  for (const attention of styles) {
    const built = Date.now();
    const folder = ensureTestModel('full', 7, ['fp32'], { family: FAMILY, attention });
    builds.push(`${attention}: ${((Date.now() - built) / 1000).toFixed(0)} s`);
    const request: ModelRequest = { source: { kind: 'folder', folder }, dtype: 'fp32', offline: true, storageDir };
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = path.dirname(folder) + path.sep;
    const tokenizer = await AutoTokenizer.from_pretrained(path.basename(folder));
    const stock: PreTrainedModel = await AutoModelForCausalLM.from_pretrained(path.basename(folder), { dtype: 'fp32' });
    await worker.request('analyze', { analysisId: `${attention}-warm`, request, text: 'warm up' });
    let worst = 0;
    const measuredSizes: number[] = [];
    for (const n of sizes) {
      const text = textOfTokens(n + 2);
      const inputs = tokenizer(text) as { input_ids: { dims: number[] } };
      if (inputs.input_ids.dims[1] !== n) throw new Error(`${attention}: the text has ${inputs.input_ids.dims[1]} tokens, not ${n}`);
      const refusal = await worker
        .request('analyze', { analysisId: `${attention}-${n}`, request, text })
        .then(() => undefined)
        .catch((error: unknown) => {
          if (error instanceof AnalysisError && error.code === 'over-budget') return error.message;
          throw error;
        });
      if (refusal) {
        forwardRows.push([attention, String(n), 'refused by the tensor budget (2 GiB)', '', '', '', '', '']);
        refusals.push(`${attention}, n = ${n}: “${refusal}”`);
        continue;
      }
      const pairs = n >= 1024 ? 3 : n >= 512 ? 5 : 7;
      const measured = await interleaved(
        async (): Promise<void> => {
          await stock(inputs);
        },
        async () => {
          const result = await worker.request('analyze', { analysisId: `${attention}-${n}`, request, text });
          if (result.tokens.length !== n) throw new Error(`${attention}: expected ${n} tokens, got ${result.tokens.length}`);
        },
        pairs,
      );
      worst = Math.max(worst, measured.ratio);
      measuredSizes.push(n);
      const limitMs = (decoderFlops(n, 0) / (rate.gflops * 1e9)) * 1000;
      forwardRows.push([attention, String(n), ...comparisonCells(measured, limitMs)]);
      if (n === Math.max(...sizes)) {
        const scale = await atScale(worker, request, attention, text, n);
        scaleRows.push(scale.row);
        goals.push(
          {
            goal: `Qwen2.5-0.5B-shaped ${attention}: worker memory beyond the loaded model at n = ${n} ≤ 2 × the KV cache`,
            measured: `${(scale.growth / 2 ** 20).toFixed(0)} MiB, ${(scale.growth / scale.kvCache).toFixed(1)} × the ${(scale.kvCache / 2 ** 20).toFixed(0)} MiB KV cache (queries and head means are held: see the table)`,
            met: scale.growth <= 2 * scale.kvCache,
          },
          {
            goal: `Qwen2.5-0.5B-shaped ${attention}: one head's map on demand at n = ${n} ≤ 50 ms`,
            measured: formatMs(scale.oneHeadMs),
            met: scale.oneHeadMs <= 50,
          },
          {
            goal: `Qwen2.5-0.5B-shaped ${attention}: grid of 24 × 14 heads at n = ${n} ≤ 500 ms (the worker's part: every layer's maps computed and pooled)`,
            measured: `${formatMs(scale.gridMs)} for every layer; the first request, which the model view draws first (${scale.firstLayers} of ${DECODER_SIZES[FAMILY].full.layers} layers, median of 3): ${formatMs(scale.firstRowsMs)}`,
            met: scale.gridMs <= 500,
          },
        );
      }
    }
    goals.push({
      goal: `Qwen2.5-0.5B-shaped ${attention}: analysis ≤ 1.15 × the plain transformers.js forward (n = ${sizes.join(', ')})`,
      measured: `worst ${worst.toFixed(2)}× (median of alternating pairs) at n = ${measuredSizes.join(', ')}${measuredSizes.length < sizes.length ? `; n = ${sizes.filter((n) => !measuredSizes.includes(n)).join(', ')} refused by the 2 GiB tensor budget` : ''}`,
      met: worst <= 1.15 && measuredSizes.length === sizes.length,
    });

    // Generation after a 128-token prompt: ours with every step's attention, against generate().
    const prompt = textOfTokens(128 + 2);
    const promptInputs = tokenizer(prompt);
    const analysisId = `${attention}-generate`;
    await worker.request('analyze', { analysisId, request, text: prompt });
    const ours = async () => {
      for (let step = 0; step < NEW_TOKENS; step += 1) {
        const result = await worker.request('generate', { analysisId, restart: step === 0, temperature: 0, seed: 0 });
        if (!result.step) throw new Error(`${attention}: generation stopped after ${step} tokens`);
      }
    };
    const theirs = () => stock.generate({ ...promptInputs, max_new_tokens: NEW_TOKENS, min_new_tokens: NEW_TOKENS, do_sample: false });
    const generation = await interleaved(theirs, ours, 3);
    const tokensPerSecond = (ms: number) => (NEW_TOKENS / (ms / 1000)).toFixed(1);
    generationRows.push([
      attention,
      String(NEW_TOKENS),
      `${formatMs(generation.a.medianMs)} (${tokensPerSecond(generation.a.medianMs)} tok/s)`,
      `${formatMs(generation.b.medianMs)} (${tokensPerSecond(generation.b.medianMs)} tok/s)`,
      `${generation.ratio.toFixed(2)}×`,
    ]);
    goals.push({
      goal: `Qwen2.5-0.5B-shaped ${attention}: generation with every step's attention ≤ 1.5 × transformers.js generate() (${NEW_TOKENS} tokens after 128)`,
      measured: `${generation.ratio.toFixed(2)}× (median of alternating runs)`,
      met: generation.ratio <= 1.5,
    });
    await stock.dispose();
    await worker.request('release', {});
  }
  await worker.dispose();
  return {
    id: 'decoders',
    title: 'Decoder language models (full-size random Qwen2.5-0.5B shape, both export styles)',
    method: `The same ids of n tokens ("the" repeated) through transformers.js's AutoModelForCausalLM forward on the stock graph (a) and through the extension's worker (b: tokens with offsets, the next-token prediction and every token's probability, every head's attention kept for the views), alternating a/b and b/a; medians. Generation: ${NEW_TOKENS} greedy tokens after a 128-token prompt, transformers.js generate() (a) against the worker's generation (b: one request per token, the key/value cache, every layer's and head's attention row of each step returned). The limit is the arithmetic of the forward pass at this machine's MatMul rate (${rate.gflops.toFixed(1)} GFLOP/s, measured in this run). Random weights in the real shape (test models built by make-test-model; ${builds.join(', ')} to build): no number here comes from a real checkpoint.`,
    tables: [
      {
        title: 'Analysis vs the plain forward',
        columns: ['Style', 'n', 'Forward (a)', 'Analysis (b)', 'b / a', 'Limit', 'Forward at limit', 'Analysis at limit'],
        rows: forwardRows,
      },
      {
        title: `At the longest input: memory and maps on demand`,
        columns: [
          'Style',
          'n',
          'process RSS growth during the analysis (peak, 5 ms samples)',
          'KV cache of the same tokens',
          'ratio',
          'one head on demand (median of 9)',
          'grid of every head (≤ 64², all layers)',
          'grid, first request (median of 3)',
        ],
        rows: scaleRows,
        notes: [
          'RSS growth is the peak resident memory of this process during one analysis (the worker is a thread of it) minus the resident memory just before, with the model loaded and earlier analyses of the same text already held: what one more analysis costs beyond the loaded model. The KV cache is what a plain forward keeps per token: 2 × layers × key-value heads × head width × n floats.',
          'An unfused (optimum) export returns each layer’s queries and keys: 24 × 14 query heads × 64 × n floats each for queries and keys (keys expanded to the query heads, as the graph multiplies them), 7 × the KV cache, plus the head means (24 × n² floats) that the host’s hovers and first view read. A fused (GroupQueryAttention) export returns its queries rotated outside the kernel by the same RotaryEmbedding kernel and its present keys, which stay at the 2 key-value heads: 24 × (14 + 2) × 64 × n floats. Maps are computed on demand either way.',
          "The grid's thumbnails are max-pooled inside onnxruntime (a gather of each block's rows and columns and a ReduceMax after the Softmax, a few heads per run), so a layer's n² maps never reach JavaScript; the whole grid is still every head's full map computed once (24 × 14 × 2048² scores). The model view asks a long input's grid a layer or a few at a time, top rows first, and draws each as it comes: the first-request column is what stands between the analysis and the first drawn row.",
          ...refusals.map((refusal) => `Refused: ${refusal}`),
        ],
      },
      {
        title: `Generation: ${NEW_TOKENS} new tokens after 128`,
        columns: ['Style', 'Tokens', 'generate() (a)', 'With attention (b)', 'b / a'],
        rows: generationRows,
      },
    ],
    goals,
  };
}
