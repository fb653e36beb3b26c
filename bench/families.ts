/**
 * The other encoder families at full size (random weights in the real shapes): BERT-base as a token classifier
 * (bert-base-NER's shape, 12 layers) and RoBERTa-base as a sequence classifier (twitter-roberta-base-sentiment's
 * shape). Each analysis (tokens with offsets, the prediction, every layer's and head's attention, in the worker) is
 * timed against transformers.js's own pipeline for the same task on the stock graph, alternating in one run, and
 * against the machine's matrix-multiply limit for the model's arithmetic.
 */
import * as path from 'node:path';
import { env, pipeline } from '@huggingface/transformers';
import type { ModelRequest } from '../src/model/modelSource';
import type { EncoderFamilyId, TaskId } from '../src/shared/analysis';
import { ENCODER_SIZES } from '../scripts/lib/testModel';
import { ensureTestModel } from '../test/support/testModels';
import { encoderFlops, matMulRate } from './limit';
import { benchWorker, comparisonCells, interleaved, textOfTokens, type Goal, type Section } from './lib';

const FAMILY_ROWS: ReadonlyArray<{ family: EncoderFamilyId; task: TaskId; shape: string }> = [
  { family: 'bert', task: 'token-classification', shape: 'BERT-base NER (12 × 12 heads, 768)' },
  { family: 'roberta', task: 'text-classification', shape: 'RoBERTa-base sentiment (12 × 12 heads, 768)' },
];

export async function runFamiliesBench(sizes: number[] = [32, 128, 512]): Promise<Section> {
  const { storageDir, worker } = benchWorker('families');
  const rate = await matMulRate(512, 3);
  const rows: string[][] = [];
  const goals: Goal[] = [];
  const builds: string[] = [];
  for (const { family, task, shape } of FAMILY_ROWS) {
    const built = Date.now();
    const folder = ensureTestModel('full', 7, ['fp32'], { family, task });
    builds.push(`${family}: ${((Date.now() - built) / 1000).toFixed(0)} s`);
    const request: ModelRequest = { source: { kind: 'folder', folder }, dtype: 'fp32', offline: true, storageDir };
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = path.dirname(folder) + path.sep;
    const stock = await pipeline(task, path.basename(folder), { dtype: 'fp32' });
    await worker.request('analyze', { analysisId: `${family}-warm`, request, text: 'warm up' });
    const sizesOf = ENCODER_SIZES[family].full;
    let worst = 0;
    for (const n of sizes) {
      const text = textOfTokens(n);
      const pairs = n >= 512 ? 5 : n >= 128 ? 9 : 15;
      const measured = await interleaved(
        () => (stock as (text: string) => Promise<unknown>)(text),
        async () => {
          const result = await worker.request('analyze', { analysisId: `${family}-${n}`, request, text });
          if (result.tokens.length !== n) throw new Error(`${family}: expected ${n} tokens, got ${result.tokens.length}`);
        },
        pairs,
      );
      worst = Math.max(worst, measured.ratio);
      const flops = encoderFlops(n, { layers: sizesOf.layers, dim: sizesOf.hidden, hidden: sizesOf.intermediate, labels: 9 });
      const limitMs = (flops / (rate.gflops * 1e9)) * 1000;
      rows.push([shape, task, String(n), ...comparisonCells(measured, limitMs)]);
    }
    await stock.dispose();
    await worker.request('release', {});
    goals.push({
      goal: `${shape}: analysis ≤ 1.35 × the plain transformers.js ${task} pipeline (n = ${sizes.join(', ')})`,
      measured: `worst ${worst.toFixed(2)}× (median of alternating pairs)`,
      met: worst <= 1.35,
    });
  }
  await worker.dispose();
  return {
    id: 'families',
    title: 'Model families (full-size random BERT-base and RoBERTa-base)',
    method: `The same text of n tokens ("the" repeated) through transformers.js's pipeline for the task on the stock graph (a) and through the extension's worker (b: tokens with offsets, the prediction, every head's attention kept for the views), alternating a/b and b/a; medians. The limit is the arithmetic of a forward pass at this machine's MatMul rate (${rate.gflops.toFixed(1)} GFLOP/s measured in this run on [512 × 768] · [768 × 3072]). Random weights in the real shapes (test models built by make-test-model; ${builds.join(', ')} to build): no number here comes from a real checkpoint.`,
    tables: [
      {
        title: 'Analysis vs the plain pipeline, per family',
        columns: ['Model shape', 'Task', 'n', 'Pipeline (a)', 'Analysis (b)', 'b / a', 'Limit', 'Pipeline at limit', 'Analysis at limit'],
        rows,
      },
    ],
    goals,
  };
}
