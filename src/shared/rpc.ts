/**
 * One request/response channel over a one-way `postMessage`, used for both hops of the extension: webview ↔
 * extension host, and extension host ↔ analysis worker (as vscode-hexeditor reuses its message handler for its
 * worker). A channel gives each request an id and keeps it pending until the answer with that id arrives; it cancels
 * (an `AbortSignal` on the asking side becomes an abort signal in the handler on the other side), times out (and
 * then cancels on the other side too), reports progress, carries events in both directions, and fails everything
 * pending when it is closed.
 *
 * What may cross a hop is declared once per peer, as a table of requests (params schema + result type, the way
 * GitLens binds `IpcRequest<Params, Response>`) and of events (payload schema): see {@link request}, {@link event}
 * and {@link Peer}. Everything that arrives is checked against those schemas before a handler sees it; a webview is
 * a web page and can be made to send anything.
 *
 * Typed arrays and ArrayBuffers in params, results and events travel as binary, never as JSON numbers: on the worker
 * hop they are transferred, on the webview hop VS Code sends their bytes. A view into a larger buffer is copied
 * first, so that only its own bytes travel (and a buffer the sender still needs is never taken away from it).
 *
 * This module must stay free of `vscode` and Node imports: the webview bundles import it too.
 */
import * as v from 'valibot';
import { AnalysisError, fromErrorData, MAX_ERROR_MESSAGE, toErrorData, type AnalysisErrorData } from './errors';

// ---------------------------------------------------------------------------------------------------------------
// Declaring what crosses a hop.

/** A request a peer serves: the schema of its params, and (in the type only) its result and progress. */
export interface IpcRequest<TParams, TResult, TProgress = never> {
  readonly params: v.GenericSchema<unknown, TParams>;
  /** Present in the type only: what the handler resolves with. */
  readonly result?: TResult;
  /** Present in the type only: what the handler reports while it runs. */
  readonly progress?: TProgress;
}

/** An event a peer accepts: the schema of its payload. */
export interface IpcEvent<TPayload> {
  readonly payload: v.GenericSchema<unknown, TPayload>;
}

/** Declares a request by its params schema; `.returns<Result, Progress>()` adds the types of what comes back. */
export function request<TSchema extends v.GenericSchema>(params: TSchema) {
  return {
    returns<TResult, TProgress = never>(): IpcRequest<v.InferOutput<TSchema>, TResult, TProgress> {
      return { params };
    },
  };
}

/** Declares an event by its payload schema. */
export function event<TSchema extends v.GenericSchema>(payload: TSchema): IpcEvent<v.InferOutput<TSchema>> {
  return { payload };
}

/** Params that come from our own code in the same process (the worker hop): typed, checked only for being an object. */
export function trusted<T extends object>(): v.GenericSchema<unknown, T> {
  return v.custom<T>((input) => typeof input === 'object' && input !== null, 'expected an object');
}

export type RequestTable = Record<string, IpcRequest<unknown, unknown, unknown>>;
export type EventTable = Record<string, IpcEvent<unknown>>;

/** What one side of a hop serves and accepts: its requests and its events. */
export interface Peer<TRequests extends RequestTable = RequestTable, TEvents extends EventTable = EventTable> {
  readonly requests: TRequests;
  readonly events: TEvents;
}

export type ParamsOf<T> = T extends IpcRequest<infer P, unknown, unknown> ? P : never;
export type ResultOf<T> = T extends IpcRequest<unknown, infer R, unknown> ? R : never;
export type ProgressOf<T> = T extends IpcRequest<unknown, unknown, infer G> ? G : never;
export type PayloadOf<T> = T extends IpcEvent<infer P> ? P : never;

type RequestsOf<TPeer extends Peer> = TPeer['requests'];
type EventsOf<TPeer extends Peer> = TPeer['events'];

/** What a handler is given besides its params. */
export interface HandlerContext<TProgress> {
  /** Aborted when the asker cancels, times out, or the channel closes. */
  readonly signal: AbortSignal;
  /** Reports progress to the asker. */
  readonly progress: (progress: TProgress) => void;
}

/** One handler per request of a table; TypeScript insists on every one. */
export type RequestHandlers<TTable extends RequestTable> = {
  [K in keyof TTable]: (
    params: ParamsOf<TTable[K]>,
    context: HandlerContext<ProgressOf<TTable[K]>>,
  ) => Promise<ResultOf<TTable[K]>> | ResultOf<TTable[K]>;
};

export type EventHandlers<TTable extends EventTable> = {
  [K in keyof TTable]?: (payload: PayloadOf<TTable[K]>) => void;
};

export interface RequestOptions<TProgress> {
  signal?: AbortSignal;
  /**
   * Milliseconds without an answer or a progress report before the request fails with a `timeout` error (and is
   * cancelled on the other side).
   */
  timeoutMs?: number;
  onProgress?: (progress: TProgress) => void;
}

// ---------------------------------------------------------------------------------------------------------------
// The wire.

const id = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Number.MAX_SAFE_INTEGER));
const name = v.pipe(v.string(), v.maxLength(64));

/** Every message a channel sends; an incoming one is parsed with this before anything else. */
export const RpcMessageSchema = v.variant('type', [
  v.object({ type: v.literal('request'), id, method: name, params: v.unknown() }),
  v.object({ type: v.literal('cancel'), id }),
  v.object({ type: v.literal('response'), id, ok: v.literal(true), result: v.unknown() }),
  v.object({
    type: v.literal('response'),
    id,
    ok: v.literal(false),
    error: v.object({ code: name, message: v.pipe(v.string(), v.maxLength(MAX_ERROR_MESSAGE)) }),
  }),
  v.object({ type: v.literal('progress'), id, progress: v.unknown() }),
  v.object({ type: v.literal('event'), event: name, payload: v.unknown() }),
]);
export type RpcMessage = v.InferOutput<typeof RpcMessageSchema>;

/** Parses an untrusted value; returns the issues as one line instead of throwing. */
export function parseMessage<TSchema extends v.GenericSchema>(
  schema: TSchema,
  input: unknown,
): { ok: true; value: v.InferOutput<TSchema> } | { ok: false; reason: string } {
  const result = v.safeParse(schema, input);
  if (result.success) return { ok: true, value: result.output };
  const reason = result.issues
    .slice(0, 3)
    .map((issue) => {
      const path = v.getDotPath(issue);
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
  return { ok: false, reason };
}

// ---------------------------------------------------------------------------------------------------------------
// Binary payloads.

/**
 * The value with every typed array that views part of a larger buffer replaced by a copy of its own bytes, and the
 * buffers that can be transferred. Containers are copied only where something inside them changed.
 */
export function binaryPayload(value: unknown): { value: unknown; buffers: ArrayBuffer[] } {
  const buffers = new Set<ArrayBuffer>();
  const visit = (item: unknown, depth: number): unknown => {
    if (item instanceof ArrayBuffer) {
      buffers.add(item);
      return item;
    }
    if (ArrayBuffer.isView(item)) {
      const whole = item.byteOffset === 0 && item.byteLength === item.buffer.byteLength && item.buffer instanceof ArrayBuffer;
      const own = whole ? item : (item as unknown as { slice(): ArrayBufferView }).slice();
      buffers.add(own.buffer as ArrayBuffer);
      return own;
    }
    if (depth > 6 || typeof item !== 'object' || item === null) return item;
    if (Array.isArray(item)) {
      // Arrays of numbers or strings (labels, deltas) hold nothing binary: skip them in one look.
      if (item.length > 0 && typeof item[0] !== 'object') return item;
      let changed = false;
      const out = item.map((entry: unknown) => {
        const next = visit(entry, depth + 1);
        changed ||= next !== entry;
        return next;
      });
      return changed ? out : item;
    }
    let copy: Record<string, unknown> | undefined;
    for (const [key, entry] of Object.entries(item)) {
      const next = visit(entry, depth + 1);
      if (next !== entry) {
        copy ??= { ...(item as Record<string, unknown>) };
        copy[key] = next;
      }
    }
    return copy ?? item;
  };
  const out = visit(value, 0);
  return { value: out, buffers: [...buffers] };
}

// ---------------------------------------------------------------------------------------------------------------
// The channel.

export interface RpcChannelOptions<TLocal extends Peer> {
  /** Sends one message to the peer; `transfer` lists the buffers it may take over (ignored where it cannot). */
  post(message: RpcMessage, transfer: ArrayBuffer[]): void;
  /** What this side serves and accepts (its schemas check every incoming message). */
  local: TLocal;
  handlers: RequestHandlers<RequestsOf<TLocal>>;
  events?: EventHandlers<EventsOf<TLocal>>;
  /** Default timeout of outgoing requests (none when absent). */
  timeoutMs?: number;
  /** Called with one line for every incoming message that was dropped (malformed, unknown, invalid). */
  onDropped?(reason: string): void;
  /** Called when a handler fails (the asker receives the error too). */
  onHandlerError?(method: string, error: AnalysisErrorData): void;
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
  onProgress(progress: unknown): void;
  dispose(): void;
}

/**
 * One end of a hop. `TRemote` is what the other side serves and accepts (requests and events this side sends);
 * `TLocal` is what this side serves and accepts.
 */
export class RpcChannel<TRemote extends Peer, TLocal extends Peer> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly serving = new Map<number, AbortController>();
  private closedWith: AnalysisError | undefined;

  constructor(private readonly options: RpcChannelOptions<TLocal>) {}

  /** Requests still waiting for an answer. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Requests from the peer still being handled here. */
  get servingCount(): number {
    return this.serving.size;
  }

  /** Asks the peer; resolves with its handler's result, rejects with its error, on cancel, timeout or close. */
  request<K extends keyof RequestsOf<TRemote> & string>(
    method: K,
    params: ParamsOf<RequestsOf<TRemote>[K]>,
    options: RequestOptions<ProgressOf<RequestsOf<TRemote>[K]>> = {},
  ): Promise<ResultOf<RequestsOf<TRemote>[K]>> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new AnalysisError('cancelled', 'The request was cancelled.'));
    const requestId = this.nextId++;
    return new Promise<ResultOf<RequestsOf<TRemote>[K]>>((resolve, reject) => {
      const abandon = (error: AnalysisError) => {
        if (!this.pending.has(requestId)) return;
        this.settle(requestId)?.dispose();
        this.send({ type: 'cancel', id: requestId });
        reject(error);
      };
      const onAbort = () => abandon(new AnalysisError('cancelled', 'The request was cancelled.'));
      const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
      const timed = timeoutMs !== undefined && Number.isFinite(timeoutMs);
      // An idle timeout: a long job that reports progress is alive, one that says nothing for that long is not.
      const arm = () =>
        setTimeout(() => abandon(new AnalysisError('timeout', `No answer or progress from ${method} within ${timeoutMs} ms.`)), timeoutMs);
      let timer = timed ? arm() : undefined;
      signal?.addEventListener('abort', onAbort, { once: true });
      const onProgress = options.onProgress as ((progress: unknown) => void) | undefined;
      this.pending.set(requestId, {
        resolve: resolve,
        reject,
        onProgress: (progress) => {
          if (timer) {
            clearTimeout(timer);
            timer = arm();
          }
          onProgress?.(progress);
        },
        dispose: () => {
          if (timer) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      });
      this.send({ type: 'request', id: requestId, method, params });
    });
  }

  /** Sends an event to the peer. */
  notify<K extends keyof EventsOf<TRemote> & string>(name: K, payload: PayloadOf<EventsOf<TRemote>[K]>): void {
    if (!this.closedWith) this.send({ type: 'event', event: name, payload });
  }

  /**
   * Takes one message from the peer. Returns false for anything that is not a message of this protocol (it is
   * reported through `onDropped`).
   */
  receive(raw: unknown): boolean {
    const parsed = parseMessage(RpcMessageSchema, raw);
    if (!parsed.ok) {
      this.options.onDropped?.(parsed.reason);
      return false;
    }
    const message = parsed.value;
    switch (message.type) {
      case 'request':
        this.serve(message.id, message.method, message.params);
        return true;
      case 'cancel':
        this.serving.get(message.id)?.abort();
        return true;
      case 'progress':
        this.pending.get(message.id)?.onProgress(message.progress);
        return true;
      case 'response': {
        const pending = this.settle(message.id);
        if (!pending) return true; // cancelled or timed out meanwhile
        pending.dispose();
        if (message.ok) pending.resolve(message.result);
        else pending.reject(fromErrorData(message.error));
        return true;
      }
      case 'event':
        return this.onEvent(message.event, message.payload);
    }
  }

  /**
   * Fails every pending request with `error` and aborts every request being handled; later requests fail at once.
   * The channel of a webview that closed, or of a worker that stopped.
   */
  close(error: AnalysisError): void {
    this.closedWith = error;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const entry of pending) {
      entry.dispose();
      entry.reject(error);
    }
    for (const controller of this.serving.values()) controller.abort();
    this.serving.clear();
  }

  private settle(requestId: number): Pending | undefined {
    const pending = this.pending.get(requestId);
    this.pending.delete(requestId);
    return pending;
  }

  private send(message: RpcMessage): void {
    const { value, buffers } = binaryPayload(message);
    this.options.post(value as RpcMessage, buffers);
  }

  private serve(requestId: number, method: string, rawParams: unknown): void {
    const local = this.options.local.requests;
    const declared = Object.hasOwn(local, method) ? local[method] : undefined;
    const handler = declared ? (this.options.handlers as Record<string, RequestHandlers<RequestTable>[string]>)[method] : undefined;
    if (!declared || !handler) {
      this.options.onDropped?.(`unknown request "${method}"`);
      this.send({ type: 'response', id: requestId, ok: false, error: { code: 'invalid-request', message: `Unknown request ${method}.` } });
      return;
    }
    const params = parseMessage(declared.params, rawParams);
    if (!params.ok) {
      this.options.onDropped?.(`${method}: ${params.reason}`);
      this.send({
        type: 'response',
        id: requestId,
        ok: false,
        error: { code: 'invalid-request', message: `Malformed ${method} request (${params.reason}).`.slice(0, MAX_ERROR_MESSAGE) },
      });
      return;
    }
    const controller = new AbortController();
    this.serving.set(requestId, controller);
    const context: HandlerContext<unknown> = {
      signal: controller.signal,
      progress: (progress) => {
        if (!controller.signal.aborted) this.send({ type: 'progress', id: requestId, progress });
      },
    };
    Promise.resolve()
      .then(() => handler(params.value as never, context))
      .then(
        (result) => {
          if (!controller.signal.aborted) this.send({ type: 'response', id: requestId, ok: true, result });
        },
        (error: unknown) => {
          const data = toErrorData(error);
          if (!controller.signal.aborted) {
            this.options.onHandlerError?.(method, data);
            this.send({ type: 'response', id: requestId, ok: false, error: data });
          }
        },
      )
      .finally(() => this.serving.delete(requestId));
  }

  private onEvent(name: string, rawPayload: unknown): boolean {
    const events = this.options.local.events;
    const declared = Object.hasOwn(events, name) ? events[name] : undefined;
    if (!declared) {
      this.options.onDropped?.(`unknown event "${name}"`);
      return false;
    }
    const payload = parseMessage(declared.payload, rawPayload);
    if (!payload.ok) {
      this.options.onDropped?.(`${name}: ${payload.reason}`);
      return false;
    }
    const handler = (this.options.events as Record<string, ((payload: unknown) => void) | undefined> | undefined)?.[name];
    handler?.(payload.value);
    return true;
  }
}
