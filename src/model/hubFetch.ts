/**
 * Every request to a hub goes through here: redirects are followed by hand, at most {@link MAX_REDIRECTS} of them, and
 * each hop is held to the hub policy (`hubPolicy.ts`) before anything connects to it, so that a hub cannot send the
 * download to plain HTTP across a network.
 */
import { AnalysisError } from '../shared/errors';
import { isAllowedHubOrigin } from './hubPolicy';

/** Redirects followed for one file: huggingface.co uses one or two (to its CDN). */
export const MAX_REDIRECTS = 5;

export interface HubFetchOptions {
  method: 'GET' | 'HEAD';
  signal?: AbortSignal;
  /** The hub and the file, as messages name them. */
  hub: string;
  file: string;
  /** A redirect answer to keep instead of following it (huggingface.co's HEAD of an LFS file describes it on the 302). */
  keep?: (response: Response) => boolean;
}

const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** What a message may show of a hop: scheme, host and port (a CDN's path and query carry signatures). */
function originOf(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/**
 * Fetches `url`, following redirects under the hub policy. Network failures reject as `fetch` does; a refused hop or
 * too many redirects reject with a `model-unavailable` {@link AnalysisError}.
 */
export async function hubFetch(url: string, options: HubFetchOptions): Promise<Response> {
  let current = new URL(url);
  for (let hop = 0; ; hop += 1) {
    if (!isAllowedHubOrigin(current) || current.username || current.password) {
      throw new AnalysisError(
        'model-unavailable',
        `${options.hub} redirected ${options.file} to ${originOf(current)}, which is neither HTTPS nor this machine; the download was refused.`,
      );
    }
    const response = await fetch(current, {
      method: options.method,
      redirect: 'manual',
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const location = response.headers.get('location');
    if (!REDIRECTS.has(response.status) || !location || options.keep?.(response)) return response;
    // The redirect's own body is not wanted; reading it to the end frees the connection.
    await response.arrayBuffer().catch(() => undefined);
    if (hop === MAX_REDIRECTS) {
      throw new AnalysisError(
        'model-unavailable',
        `${options.hub} answered more than ${MAX_REDIRECTS} redirects for ${options.file}; the download was refused.`,
      );
    }
    current = new URL(location, current);
  }
}
