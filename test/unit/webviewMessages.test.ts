/**
 * Every message a webview sends goes through `receive`: parsed against the protocol, dropped and logged when it does
 * not fit. Hostile and malformed messages never reach a handler.
 */
import { describe, expect, it } from 'vitest';
import type * as vscode from 'vscode';
import { SideToHostSchema, WebviewToHostSchema } from '../../src/shared/protocol';
import { receive } from '../../src/views/webviewMessages';
import { recordCase } from '../support/reliability';

function fakeLog() {
  const lines: Array<[string, string]> = [];
  const log = { warn: (message: string) => lines.push(['warn', message]), error: (message: string) => lines.push(['error', message]) } as unknown as vscode.LogOutputChannel;
  return { log, lines };
}

const MALFORMED: Array<[string, unknown]> = [
  ['not an object', 'ready'],
  ['null', null],
  ['an unknown message type', { type: 'runScript', code: 'alert(1)' }],
  ['a request without an id', { type: 'request', request: { kind: 'headStats', analysisId: 'a1' } }],
  ['an unknown request kind', { type: 'request', requestId: 1, request: { kind: 'readFile', path: '/etc/passwd' } }],
  ['a negative layer', { type: 'request', requestId: 2, request: { kind: 'headMap', analysisId: 'a1', layer: -1, head: 0, options: { hideSpecial: false, mergeWords: false } } }],
  ['a fractional head', { type: 'request', requestId: 3, request: { kind: 'headMap', analysisId: 'a1', layer: 0, head: 0.5, options: { hideSpecial: false, mergeWords: false } } }],
  ['an analysis id of 1 MB', { type: 'request', requestId: 4, request: { kind: 'headStats', analysisId: 'x'.repeat(1_000_000) } }],
  ['an export file name with a path', { type: 'request', requestId: 5, request: { kind: 'export', format: 'csv', suggestedName: '../../.bashrc', content: 'x' } }],
  ['a grid size beyond the limit', { type: 'request', requestId: 6, request: { kind: 'grid', analysisId: 'a1', size: 100_000, options: { hideSpecial: false, mergeWords: false } } }],
  ['ablating 100 000 heads', { type: 'request', requestId: 7, request: { kind: 'ablate', analysisId: 'a1', heads: Array.from({ length: 100_000 }, () => ({ layer: 0, head: 0 })), keepOnly: false } }],
];

describe('messages from webviews', () => {
  for (const [name, raw] of MALFORMED) {
    it(`drops and logs ${name}`, () => {
      const { log, lines } = fakeLog();
      expect(receive(WebviewToHostSchema, raw, log, 'attention panel')).toBeUndefined();
      expect(lines).toHaveLength(1);
      expect(lines[0]![0]).toBe('warn');
      expect(lines[0]![1]).toMatch(/^Dropped a malformed message from the attention panel: /);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      recordCase({ layer: 'unit', area: 'Webview hardening', case: `panel sends ${name}`, outcome: 'dropped before any handler; one warning in the log' });
    });
  }

  it('keeps only the protocol\'s fields of a prototype-polluting payload', () => {
    const { log, lines } = fakeLog();
    const raw: unknown = JSON.parse('{"type":"request","requestId":8,"__proto__":{"polluted":true},"request":{"kind":"recentAnalyses","__proto__":{"polluted":true}}}');
    const message = receive(WebviewToHostSchema, raw, log, 'attention panel');
    expect(message).toEqual({ type: 'request', requestId: 8, request: { kind: 'recentAnalyses' } });
    expect(Object.getOwnPropertyNames(message)).toEqual(['type', 'requestId', 'request']);
    expect(Object.getPrototypeOf(message)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(lines).toEqual([]);
    recordCase({ layer: 'unit', area: 'Webview hardening', case: 'panel sends a payload with __proto__ keys', outcome: 'parsed into a fresh object with the protocol\'s fields only; no prototype changed' });
  });

  it('passes well-formed messages through, and turns CSP reports into log errors', () => {
    const { log, lines } = fakeLog();
    expect(receive(WebviewToHostSchema, { type: 'request', requestId: 9, request: { kind: 'recentAnalyses' } }, log, 'attention panel')).toEqual({ type: 'request', requestId: 9, request: { kind: 'recentAnalyses' } });
    expect(receive(SideToHostSchema, { type: 'command', command: { command: 'showPanel' } }, log, 'side view')).toEqual({ type: 'command', command: { command: 'showPanel' } });
    expect(lines).toEqual([]);
    expect(receive(WebviewToHostSchema, { type: 'cspViolation', directive: 'script-src', blockedUri: 'inline' }, log, 'attention panel')).toBeUndefined();
    expect(lines).toEqual([['error', 'Content Security Policy violation in the attention panel: script-src blocked inline']]);
    recordCase({ layer: 'unit', area: 'Webview hardening', case: 'a CSP violation report from a webview', outcome: 'logged as an error (and the UI tests fail on any violation)' });
  });
});
