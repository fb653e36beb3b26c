/**
 * A model's layer chain (its per-layer sessions, several copies of the weights) is built for an intervention, kept
 * while interventions run and dropped once none has run for a while; the next intervention builds it again and gets
 * the same numbers.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Analyzer } from '../../src/model/analyzer';
import { headImportance } from '../../src/model/explanations';
import { modelRequestKey, type ModelRequest } from '../../src/model/modelSource';
import { ensureTestModel } from '../support/testModels';

const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-chain-idle-'));
const IDLE_MS = 300;
const analyzer = new Analyzer(IDLE_MS);
afterAll(async () => {
  await analyzer.dispose();
  fs.rmSync(storageDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('drops an idle layer chain, never one in use, and builds it again with the same results', async () => {
  const request: ModelRequest = { source: { kind: 'folder', folder: ensureTestModel('tiny') }, dtype: 'fp32', offline: true, storageDir };
  const { result } = await analyzer.analyze(request, 'The movie was wonderful.');
  const key = modelRequestKey(request);
  const ids = result.tokens.map((token) => token.id);
  const sweep = () =>
    analyzer.withExplainer(key, (explainer) => headImportance(explainer.chain, ids, explainer.options(result.tokens, undefined)));

  expect(analyzer.chainsHeld).toBe(0);
  const first = await sweep();
  expect(analyzer.chainsHeld).toBe(1);
  // An intervention that outlasts the idle time keeps the chain: the timer starts when the last one ends.
  await analyzer.withExplainer(key, () => sleep(IDLE_MS * 2));
  expect(analyzer.chainsHeld).toBe(1);
  await sleep(IDLE_MS / 2);
  expect(analyzer.chainsHeld).toBe(1);
  await sleep(IDLE_MS * 2);
  expect(analyzer.chainsHeld).toBe(0);

  const again = await sweep();
  expect(analyzer.chainsHeld).toBe(1);
  expect(again.deltas).toEqual(first.deltas);
  expect(first.deltas.flat().some((delta) => delta !== 0)).toBe(true);
});
