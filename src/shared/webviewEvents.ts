/**
 * The events every webview sends its host, whatever else it does: that its page has loaded, and the Content
 * Security Policy violations it sees (so that a policy regression shows in the log and fails the UI tests).
 */
import * as v from 'valibot';
import { shortText } from './analysis';
import { event } from './rpc';

export const WEBVIEW_EVENTS = {
  /** The page loaded and listens (a new panel, or one whose content was discarded while hidden). */
  ready: event(v.object({})),
  cspViolation: event(v.object({ directive: shortText, blockedUri: shortText })),
};
