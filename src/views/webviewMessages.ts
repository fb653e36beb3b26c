/**
 * Receiving from a webview: parse against the protocol, drop (and log) what does not fit, and log CSP reports.
 * Every webview's handler starts here, so a malformed or hostile message never reaches one.
 */
import type * as v from 'valibot';
import type * as vscode from 'vscode';
import { parseMessage } from '../shared/protocol';

export function receive<TSchema extends v.GenericSchema<unknown, { type: string }>>(
  schema: TSchema,
  raw: unknown,
  log: vscode.LogOutputChannel,
  webviewName: string,
): Exclude<v.InferOutput<TSchema>, { type: 'cspViolation' }> | undefined {
  const parsed = parseMessage(schema, raw);
  if (!parsed.ok) {
    log.warn(`Dropped a malformed message from the ${webviewName}: ${parsed.reason}`);
    return undefined;
  }
  const message = parsed.value as v.InferOutput<TSchema> & { type: string; directive?: string; blockedUri?: string };
  if (message.type === 'cspViolation') {
    log.error(`Content Security Policy violation in the ${webviewName}: ${message.directive} blocked ${message.blockedUri}`);
    return undefined;
  }
  return message as Exclude<v.InferOutput<TSchema>, { type: 'cspViolation' }>;
}
