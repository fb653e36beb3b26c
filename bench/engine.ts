/**
 * The attention engine's speed: multi-head attention forward, rollout (prepare, one row, full), attention flow (one
 * token, full), each against a naive reference measured in the same run: textbook triple loops for the products
 * (`C[i][j] = Σ_p A[i][p] · B[p][j]`, B read down its columns) and Edmonds–Karp with adjacency lists for max-flow.
 */
import {
  attentionFlow,
  attentionFlowRow,
  attentionTensor,
  multiHeadAttention,
  NumpyRandom,
  residualAttention,
  Rollout,
  softmaxRows,
  type AttentionTensor,
  type Matrix,
  type MultiHeadParams,
} from '../src/engine';
import { formatMs, formatTiming, measure, type Goal, type Section, type Table } from './lib';

const random = new NumpyRandom(2024);

function randomMatrix(rows: number, cols: number, scale = 1): Matrix<Float64Array> {
  return { rows, cols, data: random.randn(rows, cols).map((value) => value * scale) };
}

function toFloat32(m: Matrix): Matrix<Float32Array> {
  return { rows: m.rows, cols: m.cols, data: Float32Array.from(m.data) };
}

function randomAttention(layers: number, heads: number, n: number): AttentionTensor<Float32Array> {
  const data = new Float32Array(layers * heads * n * n);
  for (let row = 0; row < layers * heads * n; row += 1) {
    data.set(
      softmaxRows(
        random.randn(n).map((value) => 3 * value),
        1,
        n,
      ).weights,
      row * n,
    );
  }
  return attentionTensor(layers, heads, n, data);
}

// ------------------------------------------------------------------------------------------------ naive references

function naiveMatmul(a: Matrix, b: Matrix): Matrix<Float64Array> {
  const out = new Float64Array(a.rows * b.cols);
  for (let i = 0; i < a.rows; i += 1) {
    for (let j = 0; j < b.cols; j += 1) {
      let sum = 0;
      for (let p = 0; p < a.cols; p += 1) sum += a.data[i * a.cols + p]! * b.data[p * b.cols + j]!;
      out[i * b.cols + j] = sum;
    }
  }
  return { rows: a.rows, cols: b.cols, data: out };
}

function naiveMultiHead(x: Matrix, params: MultiHeadParams, heads: number): Matrix<Float64Array> {
  const project = (w: Matrix, bias: ArrayLike<number>) => {
    const out = naiveMatmul(x, w);
    out.data.forEach((value, index) => (out.data[index] = value + bias[index % out.cols]!));
    return out;
  };
  const [q, k, v] = [project(params.wq, params.bq), project(params.wk, params.bk), project(params.wv, params.bv)];
  const n = x.rows;
  const d = q.cols;
  const dh = d / heads;
  const concat = new Float64Array(n * d);
  for (let head = 0; head < heads; head += 1) {
    const scores = new Float64Array(n * n);
    for (let i = 0; i < n; i += 1) {
      for (let j = 0; j < n; j += 1) {
        let sum = 0;
        for (let p = 0; p < dh; p += 1) sum += q.data[i * d + head * dh + p]! * k.data[j * d + head * dh + p]!;
        scores[i * n + j] = sum / Math.sqrt(dh);
      }
    }
    const weights = softmaxRows(scores, n, n).weights;
    for (let i = 0; i < n; i += 1) {
      for (let p = 0; p < dh; p += 1) {
        let sum = 0;
        for (let j = 0; j < n; j += 1) sum += weights[i * n + j]! * v.data[j * d + head * dh + p]!;
        concat[i * d + head * dh + p] = sum;
      }
    }
  }
  const out = naiveMatmul({ rows: n, cols: d, data: concat }, params.wo);
  out.data.forEach((value, index) => (out.data[index] = value + params.bo[index % d]!));
  return out;
}

function naiveRolloutFull(attention: AttentionTensor): Matrix<Float64Array> {
  let current: Matrix = residualAttention(attention, 0);
  for (let layer = 1; layer < attention.layers; layer += 1) {
    current = naiveMatmul(residualAttention(attention, layer), current);
  }
  return current as Matrix<Float64Array>;
}

/** Edmonds–Karp on an explicit graph: BFS for each shortest augmenting path. */
function naiveFlowRow(attention: AttentionTensor, source: number): Float64Array {
  const { n, layers } = attention;
  const nodes = (layers + 1) * n;
  const capacity = new Map<number, number>();
  const neighbours: number[][] = Array.from({ length: nodes }, () => []);
  for (let layer = 1; layer <= layers; layer += 1) {
    const matrix = residualAttention(attention, layer - 1).data;
    for (let f = 0; f < n; f += 1) {
      for (let t = 0; t < n; t += 1) {
        const from = layer * n + f;
        const to = (layer - 1) * n + t;
        capacity.set(from * nodes + to, matrix[f * n + t]!);
        neighbours[from]!.push(to);
        neighbours[to]!.push(from);
      }
    }
  }
  const row = new Float64Array(n);
  for (let sink = 0; sink < n; sink += 1) {
    const residual = new Map(capacity);
    const s = layers * n + source;
    const t = sink;
    let total = 0;
    for (;;) {
      const parent = new Int32Array(nodes).fill(-1);
      parent[s] = s;
      const queue = [s];
      for (let head = 0; head < queue.length && parent[t] === -1; head += 1) {
        const u = queue[head]!;
        for (const w of neighbours[u]!) {
          if (parent[w] === -1 && (residual.get(u * nodes + w) ?? 0) > 1e-13) {
            parent[w] = u;
            queue.push(w);
          }
        }
      }
      if (parent[t] === -1) break;
      let bottleneck = Infinity;
      for (let w = t; w !== s; w = parent[w]!) bottleneck = Math.min(bottleneck, residual.get(parent[w]! * nodes + w)!);
      for (let w = t; w !== s; w = parent[w]!) {
        const u = parent[w]!;
        residual.set(u * nodes + w, residual.get(u * nodes + w)! - bottleneck);
        residual.set(w * nodes + u, (residual.get(w * nodes + u) ?? 0) + bottleneck);
      }
      total += bottleneck;
    }
    row[sink] = total;
  }
  const sum = row.reduce((a, b) => a + b, 0);
  return row.map((value) => value / sum);
}

// ------------------------------------------------------------------------------------------------------ the bench

const gflops = (flops: number, ms: number) => (flops / (ms / 1000) / 1e9).toFixed(2);
const ratio = (naive: number, engine: number) => `${(naive / engine).toFixed(1)}×`;

export function runEngineBench(sizes: number[] = [16, 64, 128, 512]): Section {
  const d = 768;
  const heads = 12;
  const layers = 6;
  const tables: Table[] = [];
  const goals: Goal[] = [];

  // Multi-head attention forward.
  const params: MultiHeadParams = {
    wq: randomMatrix(d, d, 0.03),
    bq: random.randn(d),
    wk: randomMatrix(d, d, 0.03),
    bk: random.randn(d),
    wv: randomMatrix(d, d, 0.03),
    bv: random.randn(d),
    wo: randomMatrix(d, d, 0.03),
    bo: random.randn(d),
  };
  const params32 = Object.fromEntries(
    Object.entries(params).map(([key, value]: [string, Matrix<Float64Array> | Float64Array]) => [
      key,
      'rows' in value ? toFloat32(value) : value,
    ]),
  ) as unknown as MultiHeadParams;
  const mhaRows = sizes.map((n) => {
    const x = randomMatrix(n, d);
    const flops = 8 * n * d * d + 4 * n * n * d;
    const f64 = measure(() => multiHeadAttention(x, params, { heads }));
    const f32 = measure(() => multiHeadAttention(toFloat32(x), params32, { heads }));
    const naive = measure(() => naiveMultiHead(x, params, heads), {
      warmup: n >= 512 ? 0 : 1,
      minRuns: 1,
      minTimeMs: 0,
      maxRuns: n >= 128 ? 1 : 3,
    });
    return [
      String(n),
      formatTiming(f64),
      gflops(flops, f64.medianMs),
      formatTiming(f32),
      gflops(flops, f32.medianMs),
      formatMs(naive.medianMs),
      ratio(naive.medianMs, f64.medianMs),
    ];
  });
  tables.push({
    title: `Multi-head self-attention forward (d = ${d}, ${heads} heads): Q, K, V, scores, softmax, ×V, W_O`,
    columns: ['n', 'float64', 'GFLOP/s', 'float32', 'GFLOP/s', 'naive (float64)', 'speed-up vs naive'],
    rows: mhaRows,
    notes: [
      'FLOPs counted as 8·n·d² (four projections) + 4·n²·d (scores and ×V); the naive reference computes the same with textbook triple loops.',
    ],
  });

  // Rollout.
  const rolloutRows: string[][] = [];
  for (const n of sizes) {
    const attention = randomAttention(layers, heads, n);
    const prepare = measure(() => Rollout.of(attention));
    const rollout = Rollout.of(attention);
    let next = 0;
    const row = measure(() => rollout.row(next++ % n), { minTimeMs: 200, maxRuns: 200 });
    const full = measure(() => rollout.full(), { minRuns: n >= 512 ? 2 : 3 });
    const naive = measure(() => naiveRolloutFull(attention), { warmup: 0, minRuns: 1, minTimeMs: 0, maxRuns: n >= 512 ? 1 : 3 });
    rolloutRows.push([
      String(n),
      formatTiming(prepare),
      formatTiming(row),
      formatTiming(full),
      gflops(2 * (layers - 1) * n ** 3, full.medianMs),
      formatMs(naive.medianMs),
      ratio(naive.medianMs, full.medianMs),
      ratio(naive.medianMs, row.medianMs),
    ]);
    if (n === 512) {
      goals.push({
        goal: 'Rollout, one row, n = 512, 6 layers: < 20 ms',
        measured: `${formatMs(row.medianMs)} (after a once-per-analysis preparation of ${formatMs(prepare.medianMs)})`,
        met: row.medianMs < 20,
      });
      goals.push({
        goal: 'Rollout, full matrix, n = 512, 6 layers: < 1.5 s',
        measured: formatMs(full.medianMs),
        met: full.medianMs < 1500,
      });
    }
  }
  tables.push({
    title: `Attention rollout (${layers} layers × ${heads} heads, float32 attention)`,
    columns: ['n', 'prepare Â (once)', 'one row', 'full [L, n, n]', 'GFLOP/s (full)', 'naive full', 'full vs naive', 'row vs naive full'],
    rows: rolloutRows,
    notes: [
      "Preparing forms each layer's mean-over-heads-plus-identity once per analysis (it reads the whole attention tensor once); a row is then L vector–matrix products, O(L·n²).",
    ],
  });

  // Flow.
  const flowRows: string[][] = [];
  for (const n of sizes.filter((size) => size <= 128)) {
    const attention = randomAttention(layers, heads, n);
    const rollout = Rollout.of(attention);
    const one = measure(() => attentionFlowRow(rollout, 0), { minRuns: 1, minTimeMs: 0, maxRuns: 3 });
    const full = n <= 32 ? measure(() => attentionFlow(rollout), { minRuns: 1, minTimeMs: 0, maxRuns: 2 }) : undefined;
    const naive = n <= 64 ? measure(() => naiveFlowRow(attention, 0), { warmup: 0, minRuns: 1, minTimeMs: 0, maxRuns: 1 }) : undefined;
    flowRows.push([
      String(n),
      formatTiming(one),
      full ? formatTiming(full) : 'not offered (n² max-flows)',
      naive ? formatMs(naive.medianMs) : 'not run (too slow)',
      naive ? ratio(naive.medianMs, one.medianMs) : '—',
    ]);
    if (n === 64) {
      goals.push({
        goal: 'Attention flow, one token, n = 64, 6 layers: < 2 s',
        measured: formatMs(one.medianMs),
        met: one.medianMs < 2000,
      });
    }
  }
  tables.push({
    title: `Attention flow (${layers} layers; Dinic's max-flow on the layered graph)`,
    columns: ['n', 'one token (n max-flows)', 'full matrix', 'naive one token (Edmonds–Karp)', 'speed-up'],
    rows: flowRows,
  });

  return {
    id: 'engine',
    title: 'Attention engine (TypeScript, one thread)',
    method:
      'Random inputs (NumPy-compatible generator, seed 2024). Each entry: one warm-up run, then repeated runs for at least 0.3 s (at least 3, at most 50; fewer for the slowest cases, as the run counts show); median with min–max. Naive references run once or a few times in the same process.',
    tables,
    goals,
  };
}
