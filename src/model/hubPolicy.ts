/**
 * Where model files may come from: HTTPS, or plain HTTP to this machine only (a mirror on loopback, or tests), so
 * that they never travel unencrypted across a network. The hub setting is also refused when it carries credentials,
 * a query or a fragment: the extension sends no credentials, and a secret put there would be echoed in every message
 * and log line that names the hub.
 */

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

export type HubUrlProblem = 'not-a-url' | 'credentials' | 'query-or-fragment' | 'insecure';

/** Whether a URL (the hub, or any hop a redirect leads to) may be fetched: HTTPS, or plain HTTP to this machine. */
export function isAllowedHubOrigin(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
}

/** A URL's text without its query and fragment, and its user info (`user:token@`) hidden; read from the text, which may not parse as a URL. */
function splitUserInfo(value: string): { shown: string; userInfo: boolean } {
  const withoutQuery = value.replace(/[?#][\s\S]*$/, '');
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:[/\\]*/.exec(withoutQuery)?.[0] ?? '';
  const rest = withoutQuery.slice(scheme.length);
  const authorityEnd = rest.search(/[/\\]/);
  const at = (authorityEnd < 0 ? rest : rest.slice(0, authorityEnd)).lastIndexOf('@');
  return at < 0 ? { shown: withoutQuery, userInfo: false } : { shown: `${scheme}…@${rest.slice(at + 1)}`, userInfo: true };
}

/** Why a hub URL is refused, or undefined when it is fine. */
export function hubUrlProblem(value: string): HubUrlProblem | undefined {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return 'not-a-url';
  }
  if (parsed.username || parsed.password || splitUserInfo(value).userInfo) return 'credentials';
  // `new URL` drops an empty `?` or `#`; the text is what the user wrote.
  if (parsed.search || parsed.hash || /[?#]/.test(value)) return 'query-or-fragment';
  return isAllowedHubOrigin(parsed) ? undefined : 'insecure';
}

/**
 * A URL as messages show it: without its query and fragment, and with whatever precedes an `@` in its authority
 * (user name, password, token) replaced by `…`.
 */
export function redactedUrl(value: string): string {
  return splitUserInfo(value).shown;
}

/** The message for a refused hub URL, naming it as `what` (the setting, or "The hub URL"), never its secrets. */
export function hubUrlProblemMessage(problem: HubUrlProblem, what: string, value: string): string {
  const shown = redactedUrl(value);
  switch (problem) {
    case 'not-a-url':
      return `${what} is not a URL: "${shown}".`;
    case 'credentials':
      return `${what} must not contain credentials (a user name, password or token before "@"): Attention Explorer sends none to a hub. It is "${shown}" without them.`;
    case 'query-or-fragment':
      return `${what} must be the hub's address alone, without a query (?…) or fragment (#…); it is "${shown}" without them.`;
    case 'insecure':
      return `${what} must be an https:// URL (plain http:// only for this machine); it is "${shown}".`;
  }
}
