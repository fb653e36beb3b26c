/**
 * Every request to a hub goes through here: redirects are followed by hand, at most {@link MAX_REDIRECTS} of them, and
 * each hop is held to the hub policy (`hubPolicy.ts`) before anything connects to it, so that a hub cannot send the
 * download to plain HTTP across a network; and a hub that goes silent (no answer, or no bytes of a file) for
 * {@link HUB_IDLE_TIMEOUT_MS} is given up on with a message, rather than after the minutes of Node's own timeouts.
 */
import { AnalysisError } from '../shared/errors';
import { isAllowedHubOrigin } from './hubPolicy';

/** Redirects followed for one file: huggingface.co uses one or two (to its CDN). */
export const MAX_REDIRECTS = 5;

/** How long a hub may stay silent: before it answers a request, or between two chunks of a file. */
export const HUB_IDLE_TIMEOUT_MS = 30_000;

/**
 * The silence allowed for one request, its answer and its body: each sign of life ({@link touch}) starts the wait
 * again; when it runs out, {@link signal} aborts the request. Disposed when the request is done.
 */
export class IdleTimeout {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Aborted when the caller's signal is, or when the hub has been silent too long. */
  readonly signal: AbortSignal;
  timedOut = false;

  constructor(
    private readonly ms: number,
    outer: AbortSignal | undefined,
  ) {
    this.signal = outer ? AbortSignal.any([outer, this.controller.signal]) : this.controller.signal;
    this.touch();
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, this.ms);
  }

  /** The message for a request that timed out. */
  error(hub: string, file: string): AnalysisError {
    const seconds = Number((this.ms / 1000).toFixed(1));
    return new AnalysisError(
      'model-unavailable',
      `${hub} did not answer for ${seconds} s (asking for ${file}); check the connection or the hub setting, then try again.`,
    );
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}

export interface HubFetchOptions {
  method: 'GET' | 'HEAD';
  /** The request's silence allowance; its signal carries the caller's cancellation too. */
  idle: IdleTimeout;
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
 * Fetches `url`, following redirects under the hub policy. Network failures reject as `fetch` does; a refused hop, too
 * many redirects or a silent hub reject with a `model-unavailable` {@link AnalysisError}.
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
    let response: Response;
    try {
      response = await fetch(current, { method: options.method, redirect: 'manual', signal: options.idle.signal });
    } catch (error) {
      if (options.idle.timedOut) throw options.idle.error(options.hub, options.file);
      throw error;
    }
    options.idle.touch();
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
