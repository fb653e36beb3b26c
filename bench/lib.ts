/**
 * Measuring: warm-up, repeated runs, median and spread; tables rendered as Markdown. Every ratio a report states is
 * taken from numbers measured in the same run.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AnalysisWorkerClient } from '../src/model/analysisWorker';

function packageVersion(name: string): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
}

export interface Timing {
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
}

export interface MeasureOptions {
  warmup?: number;
  /** Run at least this many times… */
  minRuns?: number;
  /** …and keep going until this much time has passed (bounded by maxRuns). */
  minTimeMs?: number;
  maxRuns?: number;
}

export function measure(run: () => unknown, options: MeasureOptions = {}): Timing {
  const { warmup = 1, minRuns = 3, minTimeMs = 300, maxRuns = 50 } = options;
  for (let index = 0; index < warmup; index += 1) run();
  const samples: number[] = [];
  const started = performance.now();
  while (samples.length < minRuns || (performance.now() - started < minTimeMs && samples.length < maxRuns)) {
    const start = performance.now();
    run();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  const middle = Math.floor(samples.length / 2);
  const medianMs = samples.length % 2 ? samples[middle]! : (samples[middle - 1]! + samples[middle]!) / 2;
  return { medianMs, minMs: samples[0]!, maxMs: samples[samples.length - 1]!, runs: samples.length };
}

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  notes?: string[];
}

export interface Goal {
  goal: string;
  measured: string;
  met: boolean;
}

export interface Section {
  id: string;
  title: string;
  method: string;
  tables: Table[];
  goals: Goal[];
  /** Files to write beside the report (repository-relative path → content), e.g. a chart. */
  files?: Record<string, string>;
}

export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

export function formatTiming(timing: Timing): string {
  return `${formatMs(timing.medianMs)} (${formatMs(timing.minMs)}–${formatMs(timing.maxMs)}, ${timing.runs}×)`;
}

export function renderTable(table: Table): string {
  const header = `| ${table.columns.join(' | ')} |\n|${table.columns.map(() => '---').join('|')}|`;
  const body = table.rows.map((row) => `| ${row.join(' | ')} |`).join('\n');
  const notes = (table.notes ?? []).map((note) => `\n${note}`).join('\n');
  return `#### ${table.title}\n\n${header}\n${body}\n${notes}\n`;
}

export function renderTableForConsole(table: Table): string {
  const widths = table.columns.map((column, index) => Math.max(column.length, ...table.rows.map((row) => (row[index] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, index) => cell.padEnd(widths[index]!)).join('  ');
  return [table.title, line(table.columns), widths.map((width) => '-'.repeat(width)).join('  '), ...table.rows.map(line)].join('\n');
}

export function machineDescription(): Record<string, string> {
  const cpus = os.cpus();
  return {
    CPU: cpus[0]?.model ?? 'unknown',
    'Logical cores': String(cpus.length),
    Memory: `${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB`,
    OS: `${os.type()} ${os.release()} (${process.platform}-${process.arch})`,
    Node: process.version,
    onnxruntime: `onnxruntime-node ${packageVersion('onnxruntime-node')} (CPU execution provider)`,
    'transformers.js': `@huggingface/transformers ${packageVersion('@huggingface/transformers')}`,
  };
}

/** "the" is one token: n − 2 of them make exactly n tokens with [CLS] and [SEP]. */
export function textOfTokens(n: number): string {
  return Array.from({ length: n - 2 }, () => 'the').join(' ');
}

/** The value below which `share` of the sorted samples fall (nearest rank). */
export function percentile(samples: readonly number[], share: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1))] ?? Number.NaN;
}

export function summary(samples: number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return {
    medianMs: sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2,
    minMs: sorted[0]!,
    maxMs: sorted[sorted.length - 1]!,
    runs: sorted.length,
  };
}

/** The median of `runs` timed runs of an asynchronous step (after one untimed run), in ms. */
export async function timed(run: () => Promise<unknown>, runs: number): Promise<number> {
  await run();
  const samples: number[] = [];
  for (let index = 0; index < runs; index += 1) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  return summary(samples).medianMs;
}

/**
 * Runs `a` and `b` alternately (and which goes first alternates too), so that both see the same moments of a noisy
 * machine; returns both timings and the median of the per-pair ratios b/a.
 */
export async function interleaved(a: () => Promise<unknown>, b: () => Promise<unknown>, pairs: number) {
  await a();
  await b();
  const timesA: number[] = [];
  const timesB: number[] = [];
  const time = async (run: () => Promise<unknown>, into: number[]) => {
    const start = performance.now();
    await run();
    into.push(performance.now() - start);
  };
  for (let pair = 0; pair < pairs; pair += 1) {
    if (pair % 2 === 0) {
      await time(a, timesA);
      await time(b, timesB);
    } else {
      await time(b, timesB);
      await time(a, timesA);
    }
  }
  const ratios = timesB.map((value, index) => value / timesA[index]!);
  return { a: summary(timesA), b: summary(timesB), ratio: summary(ratios).medianMs };
}

/** The analysis worker the extension runs (the built dist/worker.js), with a fresh storage folder for one section. */
export function benchWorker(section: string): { storageDir: string; worker: AnalysisWorkerClient } {
  const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), `attn-bench-${section}-`));
  const worker = new AnalysisWorkerClient(path.join(path.resolve(__dirname, '..'), 'dist', 'worker.js'), {
    info: () => undefined,
    warn: console.warn,
    error: console.error,
  });
  return { storageDir, worker };
}

/** The cells every "ours vs the plain run" row ends with: both timings, their ratio, the limit and each one's share of it. */
export function comparisonCells(measured: { a: Timing; b: Timing; ratio: number }, limitMs: number): string[] {
  return [
    formatTiming(measured.a),
    formatTiming(measured.b),
    `${measured.ratio.toFixed(2)}×`,
    formatMs(limitMs),
    `${((limitMs / measured.a.medianMs) * 100).toFixed(0)}%`,
    `${((limitMs / measured.b.medianMs) * 100).toFixed(0)}%`,
  ];
}
