/**
 * Every message a webview sends goes through its channel (`src/views/webviewChannel.ts`): parsed against the
 * webview's protocol table, dropped and logged when it does not fit. Hostile and malformed messages never reach a
 * handler. The webview's message port is stood in for by a function pair; the real one is driven by the UI tests.
 */
import { describe, expect, it } from 'vitest';
import type * as vscode from 'vscode';
import { PANEL_HOST, type PanelHost, type PanelWebview } from '../../src/shared/panelProtocol';
import type { RequestHandlers } from '../../src/shared/rpc';
import { SIDE_HOST, type SideHost, type SideWebview } from '../../src/shared/sideProtocol';
import { webviewRpc } from '../../src/views/webviewChannel';
import { recordCase } from '../support/reliability';

function harness() {
  const lines: Array<[string, string]> = [];
  const posted: unknown[] = [];
  const called: string[] = [];
  let deliver: (message: unknown) => void = () => undefined;
  const webview = {
    postMessage: (message: unknown) => (posted.push(message), Promise.resolve(true)),
    onDidReceiveMessage: (listener: (message: unknown) => void) => ((deliver = listener), { dispose: () => undefined }),
  } as unknown as vscode.Webview;
  const log = {
    warn: (message: string) => lines.push(['warn', message]),
    error: (message: string) => lines.push(['error', message]),
  } as unknown as vscode.LogOutputChannel;
  const handlers = new Proxy(
    {},
    { get: (_target, method: string) => (params: unknown) => (called.push(method), { params }) },
  ) as RequestHandlers<PanelHost['requests']>;
  const panel = webviewRpc<PanelWebview, PanelHost>({
    webview,
    name: 'attention panel',
    log,
    local: PANEL_HOST,
    handlers,
    events: { ready: () => called.push('ready') },
  });
  return { lines, posted, called, send: (message: unknown) => deliver(message), panel };
}

const options = { hideSpecial: false, mergeWords: false };
const MALFORMED: Array<[string, unknown]> = [
  ['not an object', 'ready'],
  ['null', null],
  ['an unknown message type', { type: 'runScript', code: 'alert(1)' }],
  ['a request without an id', { type: 'request', method: 'headStats', params: { analysisId: 'a1' } }],
  ['an unknown request kind', { type: 'request', id: 1, method: 'readFile', params: { path: '/etc/passwd' } }],
  ['a negative layer', { type: 'request', id: 2, method: 'headMap', params: { analysisId: 'a1', layer: -1, head: 0, options } }],
  ['a fractional head', { type: 'request', id: 3, method: 'headMap', params: { analysisId: 'a1', layer: 0, head: 0.5, options } }],
  ['an analysis id of 1 MB', { type: 'request', id: 4, method: 'headStats', params: { analysisId: 'x'.repeat(1_000_000) } }],
  [
    'an export file name with a path',
    { type: 'request', id: 5, method: 'export', params: { format: 'csv', suggestedName: '../../.bashrc', content: 'x' } },
  ],
  ['a grid size beyond the limit', { type: 'request', id: 6, method: 'grid', params: { analysisId: 'a1', size: 100_000, options } }],
  [
    'ablating 100 000 heads',
    {
      type: 'request',
      id: 7,
      method: 'ablate',
      params: { analysisId: 'a1', heads: Array.from({ length: 100_000 }, () => ({ layer: 0, head: 0 })), keepOnly: false },
    },
  ],
  ['a method from the prototype', { type: 'request', id: 8, method: '__proto__', params: {} }],
  ['an unknown event', { type: 'event', event: 'openTerminal', payload: {} }],
];

describe('messages from webviews', () => {
  for (const [name, raw] of MALFORMED) {
    it(`drops and logs ${name}`, () => {
      const { lines, called, send, posted } = harness();
      send(raw);
      expect(called).toEqual([]);
      expect(lines).toHaveLength(1);
      expect(lines[0]![0]).toBe('warn');
      expect(lines[0]![1]).toMatch(/^Dropped a malformed message from the attention panel: /);
      // A request with an id is answered with an error, so that a page never waits for a reply that cannot come.
      for (const message of posted) expect(message).toMatchObject({ type: 'response', ok: false, error: { code: 'invalid-request' } });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      recordCase({
        layer: 'unit',
        area: 'Webview hardening',
        case: `panel sends ${name}`,
        outcome: 'dropped before any handler; one warning in the log',
      });
    });
  }

  it("keeps only the protocol's fields of a prototype-polluting payload", async () => {
    const { lines, called, send, posted } = harness();
    const raw: unknown = JSON.parse(
      '{"type":"request","id":8,"__proto__":{"polluted":true},"method":"reanalyze","params":{"analysisId":"a1","__proto__":{"polluted":true}}}',
    );
    send(raw);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(called).toEqual(['reanalyze']);
    const answer = posted[0] as { result: { params: object } };
    expect(answer).toMatchObject({ type: 'response', id: 8, ok: true });
    expect(Object.getOwnPropertyNames(answer.result.params)).toEqual(['analysisId']);
    expect(Object.getPrototypeOf(answer.result.params)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(lines).toEqual([]);
    recordCase({
      layer: 'unit',
      area: 'Webview hardening',
      case: 'panel sends a payload with __proto__ keys',
      outcome: "parsed into a fresh object with the protocol's fields only; no prototype changed",
    });
  });

  it('passes well-formed messages through, and turns CSP reports into log errors', async () => {
    const { lines, called, send } = harness();
    send({ type: 'request', id: 9, method: 'recentAnalyses', params: {} });
    send({ type: 'event', event: 'ready', payload: {} });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect([...called].sort()).toEqual(['ready', 'recentAnalyses']);
    expect(lines).toEqual([]);
    send({ type: 'event', event: 'cspViolation', payload: { directive: 'script-src', blockedUri: 'inline' } });
    expect(lines).toEqual([['error', 'Content Security Policy violation in the attention panel: script-src blocked inline']]);
    recordCase({
      layer: 'unit',
      area: 'Webview hardening',
      case: 'a CSP violation report from a webview',
      outcome: 'logged as an error (and the UI tests fail on any violation)',
    });
  });

  it('the side view accepts its commands and nothing else', () => {
    const lines: string[] = [];
    const commands: unknown[] = [];
    let deliver: (message: unknown) => void = () => undefined;
    const webview = {
      postMessage: () => Promise.resolve(true),
      onDidReceiveMessage: (listener: (message: unknown) => void) => ((deliver = listener), { dispose: () => undefined }),
    } as unknown as vscode.Webview;
    const log = {
      warn: (message: string) => lines.push(message),
      error: (message: string) => lines.push(message),
    } as unknown as vscode.LogOutputChannel;
    webviewRpc<SideWebview, SideHost>({
      webview,
      name: 'side view',
      log,
      local: SIDE_HOST,
      handlers: {},
      events: { command: ({ command }) => commands.push(command) },
    });
    deliver({ type: 'event', event: 'command', payload: { command: { command: 'showPanel' } } });
    deliver({ type: 'event', event: 'command', payload: { command: { command: 'runShell', line: 'rm -rf /' } } });
    deliver({ type: 'request', id: 1, method: 'headMap', params: {} });
    expect(commands).toEqual([{ command: 'showPanel' }]);
    expect(lines).toEqual([
      expect.stringMatching(/^Dropped a malformed message from the side view: command: /),
      'Dropped a malformed message from the side view: unknown request "headMap"',
    ]);
  });
});
