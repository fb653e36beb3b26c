/**
 * The protocol tables: what the host accepts from the panel, what the panel accepts from the host, and the state the
 * panel keeps across reloads, checked against well-formed and malformed values.
 */
import { describe, expect, it } from 'vitest';
import { AnalysisSchema, type Analysis, type TokenRow } from '../../src/shared/analysis';
import { PANEL_HOST, PANEL_WEBVIEW, PanelStateSchema } from '../../src/shared/panelProtocol';
import { parseMessage } from '../../src/shared/rpc';

const rows: TokenRow[] = [
  { id: 101, text: '[CLS]', start: 0, end: 0, special: true },
  { id: 7592, text: 'hello', start: 0, end: 5, special: false },
  { id: 102, text: '[SEP]', start: 0, end: 0, special: true },
];

function analysis(): Analysis {
  return {
    id: 'a1',
    source: { documentName: 'x.txt', documentUri: 'file:///x.txt', startLine: 0, startCharacter: 0, endLine: 0, endCharacter: 5 },
    text: 'Hello',
    tokens: rows,
    model: {
      name: 'test',
      dtype: 'fp32',
      family: 'distilbert',
      task: 'text-classification',
      layers: 2,
      heads: 4,
      kvHeads: 4,
      causal: false,
      isTestModel: true,
      quantized: false,
    },
    prediction: {
      task: 'text-classification',
      labels: ['NEGATIVE', 'POSITIVE'],
      probabilities: [0.25, 0.75],
      logits: [0, 1.0986],
      multiLabel: false,
    },
    timings: { tokenizeMs: 1, inferenceMs: 2, totalMs: 3 },
  };
}

const requests = PANEL_HOST.requests;
const options = { hideSpecial: true, mergeWords: false };

describe('what the host accepts from the panel', () => {
  it.each([
    ['revealToken', { analysisId: 'a1', tokenIndex: 2 }],
    ['headMap', { analysisId: 'a1', layer: 1, head: 3, options }],
    ['grid', { analysisId: 'a1', size: 64, options: { hideSpecial: false, mergeWords: true } }],
    ['aggregate', { analysisId: 'a1', aggregate: 'rollout', layer: 0, options }],
    ['export', { format: 'csv', suggestedName: 'layer 1 head 2.csv', content: 'a,b\n1,2\n' }],
    ['export', { format: 'png', suggestedName: 'grid.png', content: new ArrayBuffer(8) }],
    ['recentAnalyses', {}],
  ] as const)('accepts a well-formed %s request', (method, params) => {
    expect(parseMessage(requests[method].params, params)).toMatchObject({ ok: true, value: params });
  });

  it.each([
    ['a missing field', 'revealToken', { analysisId: 'a1' }],
    ['a negative index', 'revealToken', { analysisId: 'a1', tokenIndex: -1 }],
    ['a path as an export name', 'export', { format: 'csv', suggestedName: '../../.bashrc', content: 'x' }],
    ['an unknown aggregate', 'aggregate', { analysisId: 'a', aggregate: 'gradient', layer: 0, options }],
    ['a grid too fine', 'grid', { analysisId: 'a', size: 100000, options }],
    ['not an object', 'recentAnalyses', 'ready'],
  ] as const)('rejects %s, saying why', (_label, method, params) => {
    const parsed = parseMessage(requests[method].params, params);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.reason).not.toBe('');
  });
});

describe('what the panel accepts from the host', () => {
  const show = PANEL_WEBVIEW.events.showAnalysis.payload;

  it('accepts an analysis and whether its attention is held, and nothing else', () => {
    expect(parseMessage(show, { analysis: analysis(), attentionHeld: true, stale: false }).ok).toBe(true);
    expect(parseMessage(show, { analysis: analysis(), attentionHeld: false, stale: true }).ok).toBe(true);
    expect(parseMessage(show, { analysis: null, attentionHeld: false, stale: false }).ok).toBe(true);
    expect(parseMessage(show, { analysis: analysis(), stale: false }).ok).toBe(false);
    expect(parseMessage(show, { analysis: analysis(), attentionHeld: 'yes', stale: false }).ok).toBe(false);
  });

  it('takes a grid sent ahead with float32 or bfloat16 thumbnails, and no other kind', () => {
    const prefetch = PANEL_WEBVIEW.events.gridPrefetch.payload;
    const grid = { analysisId: 'a1', requestedSize: 32, options: { hideSpecial: false, mergeWords: false }, labels: ['a', 'b'], size: 2 };
    expect(parseMessage(prefetch, { ...grid, thumbnails: { dtype: 'float32', values: new Float32Array(4) } }).ok).toBe(true);
    expect(parseMessage(prefetch, { ...grid, thumbnails: { dtype: 'bfloat16', bits: new Uint16Array(4) } }).ok).toBe(true);
    expect(parseMessage(prefetch, { ...grid, thumbnails: { dtype: 'bfloat16', bits: new Float32Array(4) } }).ok).toBe(false);
    expect(parseMessage(prefetch, { ...grid, thumbnails: { dtype: 'float16', bits: new Uint16Array(4) } }).ok).toBe(false);
    expect(parseMessage(prefetch, { ...grid, thumbnails: new Float32Array(4) }).ok).toBe(false);
  });

  it('checks every token row', () => {
    const broken = { ...analysis(), tokens: [...rows, { id: 1.5, text: 'x', start: 0, end: 1, special: false }] };
    expect(parseMessage(AnalysisSchema, broken).ok).toBe(false);
    expect(parseMessage(AnalysisSchema, { ...analysis(), tokens: [{ ...rows[1], start: -1 }] }).ok).toBe(false);
  });

  it('validates saved panel state', () => {
    const state = { version: 4, analysis: analysis(), view: { tab: 'grid', layer: 1, head: -1 } };
    expect(parseMessage(PanelStateSchema, state).ok).toBe(true);
    expect(parseMessage(PanelStateSchema, { version: 3 }).ok).toBe(false);
    expect(parseMessage(PanelStateSchema, { version: 4 }).ok).toBe(true);
  });
});
