/**
 * `npm run analyze` as a user runs it: a separate process, JSON on stdout, errors on stderr with exit code 1.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopbackHub } from '../../scripts/lib/loopbackHub';
import { ReferenceDistilBert, type DistilBertConfig } from '../../src/reference/distilbert';
import { repoRoot } from '../support/paths';
import { ensureTestModel } from '../support/testModels';
import { AttentionSession } from '../../src/model/attentionSession';
import { FAMILY_MODULES } from '../../src/model/families';
import { instrumentedModelFor } from '../../src/model/instrumentedCache';
import { maxAbsDiff } from '../support/numeric';

interface CliJson {
  model: string;
  dtype: string;
  tokens: Array<{ id: number; text: string; start: number; end: number; special: boolean }>;
  logits: number[];
  probabilities: number[];
  labels: string[];
  attentions: number[][][][];
  timings: { tokenizeMs: number; inferenceMs: number; totalMs: number };
}

/** Runs the CLI as a separate process; asynchronously, because the loopback hub answers from this process. */
function analyze(
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), [path.join(repoRoot, 'scripts', 'analyze.ts'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

let hub: LoopbackHub;
let folder: string;

beforeAll(async () => {
  folder = ensureTestModel('tiny');
  hub = await LoopbackHub.start([{ id: 'attention-explorer/tiny-distilbert', folder }]);
});

afterAll(() => hub.close());

describe('npm run analyze', () => {
  it('--json prints one object with tokens, logits, probabilities, labels, [layers][heads][n][n] attention and timings', async () => {
    const text = 'This product is terrible, I want a refund.';
    const { status, stdout, stderr } = await analyze(['--model', folder, '--text', text, '--json']);
    expect(status, stderr).toBe(0);
    const json = JSON.parse(stdout) as CliJson;
    expect(json.dtype).toBe('fp32');
    expect(json.labels).toEqual(['NEGATIVE', 'POSITIVE']);
    expect(json.tokens.map((token) => token.id)).toEqual([101, 2023, 4031, 2003, 6659, 1010, 1045, 2215, 1037, 25416, 8630, 1012, 102]);
    expect(json.tokens[4]).toEqual({ id: 6659, text: 'terrible', start: 16, end: 24, special: false });
    const n = json.tokens.length;
    expect([
      json.attentions.length,
      json.attentions[0]!.length,
      json.attentions[0]![0]!.length,
      json.attentions[0]![0]![0]!.length,
    ]).toEqual([2, 4, n, n]);
    // The numbers are the model's: the independent forward pass agrees.
    const config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as DistilBertConfig;
    const reference = ReferenceDistilBert.load(path.join(folder, 'model.safetensors'), config).forward(
      json.tokens.map((token) => token.id),
    );
    json.logits.forEach((logit, index) => expect(Math.abs(logit - reference.output[index]!)).toBeLessThan(1e-4));
    json.attentions
      .flat(2)
      .forEach((row, index) =>
        row.forEach((weight, col) => expect(Math.abs(weight - reference.attentions[index * n + col]!)).toBeLessThan(1e-4)),
      );
    expect(json.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(json.timings.totalMs).toBeGreaterThan(0);
    // Computed on demand from the run's queries and keys, they are the graph's own Softmax outputs.
    const pattern = FAMILY_MODULES.find((module) => module.id === 'distilbert')!.pattern;
    const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-cli-maps-'));
    const withMaps = instrumentedModelFor(path.join(folder, 'onnx', 'model.onnx'), { layers: 2, heads: 4 }, pattern, storage, {
      headMask: false,
      outputs: 'maps',
    });
    const session = await AttentionSession.load(withMaps.path, { layers: 2, heads: 4, inputs: pattern.inputs, output: 'logits' });
    const own = await session.run({ inputIds: [json.tokens.map((token) => token.id)] }, { attentions: true });
    await session.release();
    fs.rmSync(storage, { recursive: true, force: true });
    expect(
      maxAbsDiff(
        json.attentions.flat(3),
        own.attentions!.flatMap((layer) => Array.from(layer)),
      ),
    ).toBeLessThanOrEqual(1e-6);
  });

  it('--json --explain adds headImportance and occlusion, equal to the reference forward with the head zeroed or the token masked', async () => {
    const text = 'A tedious, overlong film.';
    const { status, stdout, stderr } = await analyze(['--model', folder, '--text', text, '--json', '--explain']);
    expect(status, stderr).toBe(0);
    const json = JSON.parse(stdout) as CliJson & {
      headImportance: { deltas: number[][]; normalised: number[][] };
      occlusion: Array<{ index: number; delta: number }>;
    };
    const config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as DistilBertConfig;
    const reference = ReferenceDistilBert.load(path.join(folder, 'model.safetensors'), config);
    const ids = json.tokens.map((token) => token.id);
    const probabilities = (logits: ArrayLike<number>) => {
      const exps = Array.from(logits, (value) => Math.exp(value));
      return exps.map((value) => value / exps.reduce((a, b) => a + b, 0));
    };
    const base = probabilities(reference.forward(ids).output);
    const label = base.indexOf(Math.max(...base));
    expect([json.headImportance.deltas.length, json.headImportance.deltas[0]!.length]).toEqual([2, 4]);
    json.headImportance.deltas.forEach((row, layer) =>
      row.forEach((delta, head) => {
        const mask = Array.from({ length: 8 }, (_, index) => (index === layer * 4 + head ? 0 : 1));
        expect(Math.abs(delta - (probabilities(reference.forward(ids, undefined, mask).output)[label]! - base[label]!))).toBeLessThan(1e-5);
      }),
    );
    expect(Math.min(...json.headImportance.normalised.flat())).toBe(0);
    expect(Math.max(...json.headImportance.normalised.flat())).toBe(1);
    expect(json.occlusion.map((entry) => entry.index)).toEqual(json.tokens.flatMap((token, index) => (token.special ? [] : [index])));
    for (const { index, delta } of json.occlusion) {
      const masked = ids.map((id, position) => (position === index ? 103 : id));
      expect(Math.abs(delta - (probabilities(reference.forward(masked).output)[label]! - base[label]!))).toBeLessThan(1e-5);
    }
  });

  it('prints a readable summary by default, reading the text from standard input', async () => {
    const result = await analyze(['--model', folder, '--dtype', 'q8'], { input: 'I absolutely loved this movie!' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^(NEGATIVE|POSITIVE) \d+\.\d+%/);
    expect(result.stdout).toContain('RANDOM weights');
    expect(result.stdout).toContain('[CLS] i absolutely loved this movie ! [SEP]');
  });

  it('downloads a hub model once (from --hub) and then reuses it', async () => {
    const tools = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-cli-'));
    const first = await analyze(['--model', 'attention-explorer/tiny-distilbert', '--hub', hub.url, '--text', 'fine', '--json'], {
      env: { ATTN_TOOLS_DIR: tools },
    });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/downloading: \d+\.\d of \d+\.\d MB/);
    expect((JSON.parse(first.stdout) as CliJson).model).toBe('attention-explorer/tiny-distilbert');
    const second = await analyze(['--model', 'attention-explorer/tiny-distilbert', '--hub', hub.url, '--text', 'fine', '--offline'], {
      env: { ATTN_TOOLS_DIR: tools },
    });
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).not.toContain('downloading');
  });

  it('fails with exit code 1 and a one-line reason, never a stack trace', async () => {
    for (const args of [
      ['--model', '/no/such/folder', '--text', 'x'],
      ['--text', 'x'],
      ['--model', folder, '--dtype', 'fp16', '--text', 'x'],
    ]) {
      const { status, stderr } = await analyze(args);
      expect(status).toBe(1);
      expect(
        stderr
          .trim()
          .split('\n')
          .filter((line) => line.startsWith('analyze:')),
      ).toHaveLength(1);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
  });
});
