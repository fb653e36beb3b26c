/**
 * The arithmetic limit of this machine for DistilBERT: onnxruntime's sustained MatMul rate on the model's largest
 * product shape (n × 768 by 768 × 3072), and the multiply-add count of a forward pass. Time ÷ (FLOPs / rate) says how
 * close a run comes to what this CPU can do at all.
 */
import * as ort from 'onnxruntime-node';
import { DataType, encodeModel, floatTensor, valueInfo, node } from '../src/model/onnx/graph';
import { NumpyRandom } from '../src/engine';

export interface MatMulRate {
  rows: number;
  gflops: number;
  medianMs: number;
}

/** FLOPs (2 per multiply-add) of an encoder forward at n tokens (DistilBERT by default): projections, feed-forward, scores and context. */
export function encoderFlops(n: number, sizes = { layers: 6, dim: 768, hidden: 3072, labels: 2 }): number {
  const { layers, dim, hidden, labels } = sizes;
  const perLayer = 2 * (4 * n * dim * dim + 2 * n * dim * hidden + 2 * n * n * dim);
  return layers * perLayer + 2 * (dim * dim + dim * labels);
}

/** Measures MatMul [rows × 768] · [768 × 3072] for about `seconds`; the median run gives the rate. */
export async function matMulRate(rows = 512, seconds = 3): Promise<MatMulRate> {
  const generator = new NumpyRandom(11);
  const weights = Float32Array.from({ length: 768 * 3072 }, () => generator.nextDouble() - 0.5);
  const model = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 14 }],
    graph: {
      name: 'matmul-rate',
      node: [node('MatMul', ['a', 'b'], ['c'], 'MatMul')],
      initializer: [floatTensor('b', weights, [768, 3072])],
      input: [valueInfo('a', DataType.FLOAT, [rows, 768])],
      output: [valueInfo('c', DataType.FLOAT, [rows, 3072])],
    },
  };
  const session = await ort.InferenceSession.create(encodeModel(model), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  const input = {
    a: new ort.Tensor(
      'float32',
      Float32Array.from({ length: rows * 768 }, () => generator.nextDouble() - 0.5),
      [rows, 768],
    ),
  };
  for (let warm = 0; warm < 3; warm += 1) await session.run(input);
  const times: number[] = [];
  const started = performance.now();
  while (performance.now() - started < seconds * 1000 || times.length < 10) {
    const start = performance.now();
    await session.run(input);
    times.push(performance.now() - start);
  }
  await session.release();
  times.sort((a, b) => a - b);
  const medianMs = times[Math.floor(times.length / 2)]!;
  return { rows, medianMs, gflops: (2 * rows * 768 * 3072) / (medianMs / 1000) / 1e9 };
}
