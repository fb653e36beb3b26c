import { describe, expect, it } from 'vitest';
import {
  HostToWebviewSchema,
  PanelStateSchema,
  parseMessage,
  WebviewToHostSchema,
  type AnalysisView,
  type TokenRow,
} from '../../src/shared/protocol';
import { RequestChannel, respond, type RequestMessage } from '../../src/shared/requestChannel';
import { decodeTokenTable, encodeTokenTable } from '../../src/shared/tokenTable';

const rows: TokenRow[] = [
  { id: 101, text: '[CLS]', start: 0, end: 0, special: true },
  { id: 7592, text: 'hello', start: 0, end: 5, special: false },
  { id: 102, text: '[SEP]', start: 0, end: 0, special: true },
];

function analysisView(): AnalysisView {
  return {
    id: 'a1',
    source: { documentName: 'x.txt', documentUri: 'file:///x.txt', startLine: 0, startCharacter: 0, endLine: 0, endCharacter: 5 },
    text: 'Hello',
    tokens: encodeTokenTable(rows),
    model: { name: 'test', dtype: 'fp32', layers: 2, heads: 4, isTestModel: true, quantized: false },
    sentiment: { labels: ['NEGATIVE', 'POSITIVE'], probabilities: [0.25, 0.75], logits: [0, 1.0986] },
    timings: { tokenizeMs: 1, inferenceMs: 2, totalMs: 3 },
    attention: { layers: 2, heads: 4, n: 3, headMeans: new Float32Array(2 * 9).buffer },
  };
}

describe('token table', () => {
  it('round-trips rows through binary columns', () => {
    const table = encodeTokenTable(rows);
    expect(table.ids).toBeInstanceOf(ArrayBuffer);
    expect(Array.from(new Int32Array(table.ids))).toEqual([101, 7592, 102]);
    expect(Array.from(new Uint32Array(table.offsets))).toEqual([0, 0, 0, 5, 0, 0]);
    expect(decodeTokenTable(table)).toEqual(rows);
  });
});

describe('protocol validation', () => {
  it('accepts every well-formed webview message', () => {
    for (const message of [
      { type: 'ready' },
      { type: 'request', requestId: 3, request: { kind: 'revealToken', analysisId: 'a1', tokenIndex: 2 } },
      { type: 'cspViolation', directive: 'script-src', blockedUri: 'inline' },
      { type: 'request', requestId: 4, request: { kind: 'headMap', analysisId: 'a1', layer: 1, head: 3, options: { hideSpecial: true, mergeWords: false } } },
      { type: 'request', requestId: 5, request: { kind: 'grid', analysisId: 'a1', size: 64, options: { hideSpecial: false, mergeWords: true } } },
      { type: 'request', requestId: 6, request: { kind: 'aggregate', analysisId: 'a1', aggregate: 'rollout', layer: 0, options: { hideSpecial: false, mergeWords: false } } },
      { type: 'request', requestId: 7, request: { kind: 'export', format: 'csv', suggestedName: 'layer 1 head 2.csv', content: 'a,b\n1,2\n' } },
      { type: 'request', requestId: 8, request: { kind: 'export', format: 'png', suggestedName: 'grid.png', content: new ArrayBuffer(8) } },
    ]) {
      expect(parseMessage(WebviewToHostSchema, message)).toMatchObject({ ok: true, value: message });
    }
  });

  it.each([
    ['an unknown type', { type: 'runCode', code: 'alert(1)' }],
    ['a missing field', { type: 'request', requestId: 1, request: { kind: 'revealToken', analysisId: 'a1' } }],
    ['a negative index', { type: 'request', requestId: 1, request: { kind: 'revealToken', analysisId: 'a1', tokenIndex: -1 } }],
    ['a fractional id', { type: 'request', requestId: 1.5, request: { kind: 'revealToken', analysisId: 'a1', tokenIndex: 0 } }],
    ['an unknown request', { type: 'request', requestId: 1, request: { kind: 'deleteFile', path: '/' } }],
    ['a path as an export name', { type: 'request', requestId: 1, request: { kind: 'export', format: 'csv', suggestedName: '../../.bashrc', content: 'x' } }],
    ['an unknown aggregate', { type: 'request', requestId: 1, request: { kind: 'aggregate', analysisId: 'a', aggregate: 'gradient', layer: 0, options: { hideSpecial: false, mergeWords: false } } }],
    ['a grid too fine', { type: 'request', requestId: 1, request: { kind: 'grid', analysisId: 'a', size: 100000, options: { hideSpecial: false, mergeWords: false } } }],
    ['an oversized string', { type: 'cspViolation', directive: 'x'.repeat(5000), blockedUri: '' }],
    ['not an object', 'ready'],
    ['null', null],
  ])('rejects %s, saying why', (_label, message) => {
    const parsed = parseMessage(WebviewToHostSchema, message);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.reason).not.toBe('');
  });

  it('accepts an analysis with consistent binary columns and rejects inconsistent ones', () => {
    const view = analysisView();
    expect(parseMessage(HostToWebviewSchema, { type: 'showAnalysis', analysis: view }).ok).toBe(true);
    const broken = { ...view, tokens: { ...view.tokens, ids: new ArrayBuffer(4) } };
    expect(parseMessage(HostToWebviewSchema, { type: 'showAnalysis', analysis: broken })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('different lengths'),
    });
    const jsonArrays = { ...view, tokens: { ...view.tokens, ids: [101, 7592, 102] } };
    expect(parseMessage(HostToWebviewSchema, { type: 'showAnalysis', analysis: jsonArrays }).ok).toBe(false);
  });

  it('checks the attention summary against its dimensions', () => {
    const view = analysisView();
    const wrong = { ...view, attention: { ...view.attention!, n: 4 } };
    expect(parseMessage(HostToWebviewSchema, { type: 'showAnalysis', analysis: wrong })).toMatchObject({ ok: false, reason: expect.stringContaining('wrong size') });
  });

  it('validates saved panel state, which holds no binary data', () => {
    const { attention: _attention, ...summary } = analysisView();
    const state = { version: 3, analysis: { ...summary, tokens: rows }, view: { tab: 'grid', layer: 1, head: -1 } };
    expect(parseMessage(PanelStateSchema, state).ok).toBe(true);
    expect(parseMessage(PanelStateSchema, { version: 2 }).ok).toBe(false);
    expect(parseMessage(PanelStateSchema, { version: 3 }).ok).toBe(true);
  });
});

describe('RequestChannel', () => {
  it('matches responses to requests by id', async () => {
    const sent: RequestMessage[] = [];
    const channel = new RequestChannel((message) => sent.push(message));
    const first = channel.request({ kind: 'revealToken', analysisId: 'a', tokenIndex: 1 });
    const second = channel.request({ kind: 'revealToken', analysisId: 'a', tokenIndex: 2 });
    expect(sent.map((message) => message.requestId)).toEqual([1, 2]);
    expect(channel.settle(await respond(2, () => ({ revealed: false })))).toBe(true);
    expect(channel.settle(await respond(1, () => { throw new Error('gone'); }))).toBe(true);
    await expect(second).resolves.toEqual({ revealed: false });
    await expect(first).rejects.toThrow('gone');
    expect(channel.settle({ type: 'response', requestId: 1, ok: true, result: null })).toBe(false);
  });

  it('times out and rejects pending requests on dispose', async () => {
    const channel = new RequestChannel(() => undefined, 20);
    await expect(channel.request({ kind: 'revealToken', analysisId: 'a', tokenIndex: 1 })).rejects.toThrow('within 20 ms');
    const pending = channel.request({ kind: 'revealToken', analysisId: 'a', tokenIndex: 1 });
    channel.dispose();
    await expect(pending).rejects.toThrow('closed');
  });
});
