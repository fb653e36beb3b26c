/**
 * Memory in the real extension host: the soak (test/suite/soak.bench.ts) run in code-server on the full-size model —
 * resident memory after the model loads, after the caches fill, after 500 analyses of varied lengths, the peak during
 * a 512-token analysis — and the size of the VSIX a user downloads.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SoakResult } from '../test/suite/soak.bench';
import type { Goal, Section } from './lib';

const repoRoot = path.resolve(__dirname, '..');
const GROWTH_GOAL = 0.05;

export function runMemoryBench(): Section {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'attn-soak-')), 'soak.json');
  execFileSync(
    path.join(repoRoot, 'node_modules', '.bin', 'tsx'),
    [path.join(repoRoot, 'scripts', 'run-extension-tests.ts'), '--host', 'code-server', '--suite', 'soak', '--out', out],
    { cwd: repoRoot, stdio: 'inherit' },
  );
  const soak = JSON.parse(fs.readFileSync(out, 'utf8')) as SoakResult;
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
  const pointer = path.join(repoRoot, 'build', 'latest-vsix.txt');
  const vsix = fs.existsSync(pointer) ? fs.readFileSync(pointer, 'utf8').trim() : '';
  const vsixMiB = vsix && fs.existsSync(vsix) ? fs.statSync(vsix).size / 1024 / 1024 : Number.NaN;
  const { afterLoad, afterWarmUp, atEnd, samples } = soak.rssMiB;
  const growth = (atEnd - afterWarmUp) / afterWarmUp;
  console.log(`[bench:memory] RSS every 25 analyses (MiB): ${samples.map(([count, value]) => `${count}: ${value.toFixed(0)}`).join(', ')}`);
  const mib = (value: number) => `${value.toFixed(0)} MiB`;
  const goals: Goal[] = [
    {
      goal: `Extension host RSS growth over ${soak.analyses} analyses ≤ ${GROWTH_GOAL * 100}% (after the caches fill)`,
      measured: `${(growth * 100).toFixed(1)}% (${mib(afterWarmUp)} → ${mib(atEnd)})`,
      met: growth <= GROWTH_GOAL,
    },
  ];
  return {
    id: 'memory',
    title: 'Memory: the extension host over 500 analyses, and the VSIX',
    method: `The packaged code in code-server's extension host (the suite runner, not a mock), the full-size random model (fp32) from a local folder. ${soak.analyses} Analyze Selection commands on lines of ${soak.lengths.min}–${soak.lengths.max} tokens (mean ${soak.lengths.mean.toFixed(0)}), each shown in the panel, then one of 512 tokens. RSS is the extension host process's resident set (process.memoryUsage().rss), which includes the analysis worker thread and onnxruntime. The host keeps 20 analyses (head means within 64 MB); the worker keeps recent attention tensors within 384 MB: "after the caches fill" is after 200 analyses (the tensor cache fills after about 130 of this mix). The soak took ${soak.durationSeconds.toFixed(0)} s.`,
    tables: [
      {
        title: 'Extension host resident memory',
        columns: ['moment', 'RSS'],
        rows: [
          ['first analysis done (model loaded)', mib(afterLoad)],
          ['after 200 analyses (caches full)', mib(afterWarmUp)],
          [`after ${soak.analyses} analyses`, mib(atEnd)],
          ['growth from 200 to 500', `${(growth * 100).toFixed(1)}%`],
          ['before the 512-token analysis', mib(soak.before512MiB)],
          ['peak during the 512-token analysis (5 ms samples)', mib(soak.peak512MiB)],
          ['VSIX (linux-x64, onnxruntime binaries included)', `${vsixMiB.toFixed(1)} MiB`],
        ],
        notes: [`RSS every 25 analyses: ${samples.map(([count, value]) => `${count}: ${value.toFixed(0)}`).join(', ')} (MiB).`],
      },
    ],
    goals,
  };
}
