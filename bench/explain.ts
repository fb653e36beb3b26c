/**
 * Interventions on the full-size random DistilBERT: the 72-head importance sweep and token occlusion, each against the
 * same number of separate single forwards measured in the same run (alternating), so the ratio shows what batching
 * and reusing the layers below an ablated head save.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { headImportance, maskWithout, occludedIds, occlusion, occlusionUnits, type InterventionOptions } from '../src/model/explanations';
import { distilbert } from '../src/model/families/distilbert';
import { probabilitiesOf } from '../src/model/tasks/textClassification';
import { instrumentedModelFor } from '../src/model/instrumentedCache';
import { AttentionSession } from '../src/model/attentionSession';
import { LayerChain } from '../src/model/layerChain';
import { OffsetTokenizer } from '../src/model/tokenizer';
import { ensureTestModel } from '../test/support/testModels';
import { formatTiming, interleaved, textOfTokens, type Goal, type Section } from './lib';

export async function runExplainBench(sizes: number[] = [32, 128]): Promise<Section> {
  const folder = ensureTestModel('full', 7, ['fp32']);
  const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-bench-explain-'));
  const config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as {
    dim: number;
    hidden_dim: number;
    n_layers: number;
    n_heads: number;
    id2label?: Record<string, string>;
  };
  const { layers, heads } = { layers: config.n_layers, heads: config.n_heads };
  const pattern = distilbert.pattern;
  const instrumented = instrumentedModelFor(path.join(folder, 'onnx', 'model.onnx'), { layers, heads }, pattern, storageDir, {
    headMask: true,
  });
  const loadStart = performance.now();
  const chain = await LayerChain.load(
    instrumented.path,
    { layers, heads, width: config.dim, intermediate: config.hidden_dim, inputs: pattern.inputs, quantized: false },
    { pattern, output: 'logits', lastLayer: 'first-token' },
  );
  const splitMs = performance.now() - loadStart;
  // The baseline: the whole instrumented graph, as an analysis runs it, asked for the logits only.
  const whole = await AttentionSession.load(instrumented.path, { layers, heads, inputs: pattern.inputs, output: 'logits' });
  const forward = (ids: number[], headMask?: Float32Array) => whole.run({ inputIds: [ids], ...(headMask ? { headMask } : {}) });
  const tokenizer = await OffsetTokenizer.load({ kind: 'folder', folder });
  const labels = Object.values(config.id2label ?? {});
  const classify: InterventionOptions = {
    target: { position: 0, explain: () => ({ labels, score: (output) => probabilitiesOf(output, false) }) },
    perToken: false,
  };
  const rows: string[][] = [];
  const goals: Goal[] = [];
  let worstSweep = 0;
  let worstOcclusion = 0;
  for (const n of sizes) {
    const tokens = tokenizer.tokenize(textOfTokens(n)).tokens;
    const ids = tokens.map((token) => token.id);
    if (ids.length !== n) throw new Error(`expected ${n} tokens, got ${ids.length}`);
    const pairs = n >= 128 ? 3 : 4;
    const singleHeadMasks = Array.from({ length: layers * heads }, (_, index) =>
      maskWithout(layers, heads, [{ layer: Math.floor(index / heads), head: index % heads }]),
    );
    const sweep = await interleaved(
      async () => {
        for (const headMask of singleHeadMasks) await forward(ids, headMask);
      },
      () => headImportance(chain, ids, classify),
      pairs,
    );
    const batchedOnly = await interleaved(
      async () => {
        for (const headMask of singleHeadMasks) await chain.outputs([{ ids, headMask }]);
      },
      () => chain.outputs(singleHeadMasks.map((headMask) => ({ ids, headMask }))),
      2,
    );
    const occludedRows = occlusionUnits(tokens, 'token').map((indices) => occludedIds(ids, indices, 'mask', tokenizer.maskTokenId!));
    const occluding = await interleaved(
      async () => {
        for (const row of occludedRows) await forward(row);
      },
      () => occlusion(chain, tokens, { ...classify, mode: 'mask', unit: 'token', maskId: tokenizer.maskTokenId! }),
      pairs,
    );
    worstSweep = Math.max(worstSweep, sweep.ratio);
    worstOcclusion = Math.max(worstOcclusion, occluding.ratio);
    rows.push([
      String(n),
      'head sweep (72 heads)',
      formatTiming(sweep.a),
      formatTiming(sweep.b),
      `${sweep.ratio.toFixed(2)}×`,
      `${batchedOnly.ratio.toFixed(2)}×`,
    ]);
    rows.push([
      String(n),
      `occlusion (${occludedRows.length} tokens → [MASK])`,
      formatTiming(occluding.a),
      formatTiming(occluding.b),
      `${occluding.ratio.toFixed(2)}×`,
      '—',
    ]);
  }
  // Occlusion streams its units: how long until the first ones are known (what the panel then draws), at 128 tokens.
  const streamTokens = tokenizer.tokenize(textOfTokens(128)).tokens;
  const firstUnits: number[] = [];
  const totals: number[] = [];
  for (let run = 0; run < 3; run += 1) {
    const started = performance.now();
    let first: number | undefined;
    await occlusion(
      chain,
      streamTokens,
      { ...classify, mode: 'mask', unit: 'token', maskId: tokenizer.maskTokenId! },
      { onProgress: (_done, _total, occluded) => (first ??= occluded?.length ? performance.now() - started : undefined) },
    );
    firstUnits.push(first ?? Number.NaN);
    totals.push(performance.now() - started);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  await chain.release();
  await whole.release();
  fs.rmSync(storageDir, { recursive: true, force: true });
  goals.push({
    goal: 'Occlusion, first results ≤ 1 s (n = 128; the worker part: the first units streamed with the progress)',
    measured: `first units after ${median(firstUnits).toFixed(0)} ms of a ${median(totals).toFixed(0)} ms occlusion (median of 3)`,
    met: median(firstUnits) <= 1000,
  });
  goals.push({
    goal: '72-head sweep ≤ 0.6 × 72 separate single forwards (n = 32, 128)',
    measured: `worst ${worstSweep.toFixed(2)}× (median of alternating pairs)`,
    met: worstSweep <= 0.6,
  });
  goals.push({
    goal: 'Occlusion ≤ 0.6 × the same number of separate single forwards (n = 32, 128)',
    measured: `worst ${worstOcclusion.toFixed(2)}× (median of alternating pairs); see the explain section for why`,
    met: worstOcclusion <= 0.6,
  });
  return {
    id: 'explain',
    title: 'Explaining a prediction: head sweep and occlusion (full-size model, random weights)',
    method: `The full-size random model (seed 7), fp32, cut into ${layers} per-layer onnxruntime sessions (splitting and loading took ${(splitMs / 1000).toFixed(1)} s, once per model). Separate: one forward of the whole instrumented graph per ablated head (with its head mask) or per occluded text, batch of one, logits only. Ours: the sweep runs the layers once, then each layer's 12 ablations join the rows already running from below (the layers under an ablated head are not recomputed); occlusion runs all masked copies in batches; both compute the last layer for [CLS] only, the one token the classifier reads. "Batching alone": the 72 ablations as batches through the per-layer sessions from layer 1 (no reuse), against the same sessions one row at a time. 3–4 alternating pairs (2 for batching alone); median (min–max).`,
    tables: [
      {
        title: 'Interventions vs the same number of separate single forwards',
        columns: [
          'n',
          'what',
          'separate single forwards',
          'batched (ours)',
          'ratio (median of pairs)',
          'ratio with batching alone (no layer reuse)',
        ],
        rows,
        notes: [
          'Layer reuse alone saves 1 − (1 + 2 + … + 6) / 36 = 42 % of the layer work of a sweep; the [CLS]-only last layer about 5/6 of one layer per row; batching adds what larger matrix products gain on this CPU (much at 32 tokens, little at 128, where a single text already fills the matrix kernels). Occlusion changes the embeddings, so every layer runs for every row: only batching and the [CLS]-only last layer help it.',
          'Why occlusion stays above 0.6 × at 128 tokens on this machine: every occluded copy differs from the text in its first layer, so no layer can be reused, and a single 128-token text already keeps the matrix kernels of both cores busy (see the "batching alone" column of the sweep: far less gain at 128 tokens than at 32). What remains exact is the [CLS]-only last layer (about 1/7 of the work). Going lower would mean approximating (fewer layers, sampled units), and the occlusion numbers must equal separate runs.',
          'q8 models run interventions one row per run: DynamicQuantizeLinear quantizes a whole batch with one scale, so a batched row would not equal its single run.',
        ],
      },
    ],
    goals,
  };
}
