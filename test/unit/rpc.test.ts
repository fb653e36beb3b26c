/**
 * The one RPC channel both hops use (webview ↔ host, host ↔ worker): two real channels wired back to back, the way
 * `postMessage` connects them, with a structured clone in between as the browser and `worker_threads` do.
 */
import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { AnalysisError } from '../../src/shared/errors';
import { binaryPayload, event, request, RpcChannel, type Peer, type RequestHandlers, type RpcMessage } from '../../src/shared/rpc';

const SERVER = {
  requests: {
    echo: request(v.object({ text: v.pipe(v.string(), v.maxLength(10)) })).returns<{ text: string }>(),
    slow: request(v.object({ ms: v.number() })).returns<{ done: true }, { percent: number }>(),
    fail: request(v.object({})).returns<never>(),
    map: request(v.object({ n: v.number() })).returns<{ map: Float32Array; labels: string[] }>(),
    ticking: request(v.object({ ms: v.number(), every: v.number() })).returns<{ done: true }, { percent: number }>(),
  },
  events: { ping: event(v.object({ count: v.number() })) },
} satisfies Peer;
const CLIENT = { requests: {}, events: { pong: event(v.object({ count: v.number() })) } } satisfies Peer;

interface Pair {
  client: RpcChannel<typeof SERVER, typeof CLIENT>;
  server: RpcChannel<typeof CLIENT, typeof SERVER>;
  /** Every message each side sent, and what it offered to transfer. */
  sent: Array<{ from: 'client' | 'server'; message: RpcMessage; transfer: ArrayBuffer[] }>;
  dropped: string[];
  aborted: string[];
  pongs: number[];
}

function pair(handlers: Partial<RequestHandlers<typeof SERVER.requests>> = {}, timeoutMs?: number): Pair {
  const sent: Pair['sent'] = [];
  const dropped: string[] = [];
  const aborted: string[] = [];
  const pongs: number[] = [];
  // eslint-disable-next-line prefer-const -- the two ends refer to each other
  let server: Pair['server'];
  const client: Pair['client'] = new RpcChannel({
    post: (message, transfer) => {
      sent.push({ from: 'client', message, transfer });
      queueMicrotask(() => server.receive(structuredClone(message)));
    },
    local: CLIENT,
    handlers: {},
    events: { pong: ({ count }) => pongs.push(count) },
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
  server = new RpcChannel({
    post: (message, transfer) => {
      sent.push({ from: 'server', message, transfer });
      queueMicrotask(() => client.receive(structuredClone(message)));
    },
    local: SERVER,
    handlers: {
      echo: ({ text }) => ({ text: text.toUpperCase() }),
      slow: ({ ms }, { signal, progress }) =>
        new Promise((resolve, reject) => {
          progress({ percent: 50 });
          const timer = setTimeout(() => resolve({ done: true }), ms);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            aborted.push('slow');
            reject(new AnalysisError('cancelled', 'stopped'));
          });
        }),
      fail: () => {
        throw new AnalysisError('invalid-model', 'That is not a model.');
      },
      map: ({ n }) => ({ map: new Float32Array(n).fill(0.5), labels: ['a'] }),
      ticking: ({ ms, every }, { progress }) =>
        new Promise((resolve) => {
          const started = Date.now();
          const timer = setInterval(() => {
            const elapsed = Date.now() - started;
            progress({ percent: Math.min(100, (100 * elapsed) / ms) });
            if (elapsed >= ms) {
              clearInterval(timer);
              resolve({ done: true });
            }
          }, every);
        }),
      ...handlers,
    },
    events: { ping: ({ count }) => server.notify('pong', { count: count + 1 }) },
    onDropped: (reason) => dropped.push(reason),
  });
  return { client, server, sent, dropped, aborted, pongs };
}

describe('RpcChannel', () => {
  it('matches answers to requests by id, in any order, with typed results and errors', async () => {
    const { client, sent } = pair();
    const [slow, fast] = [client.request('slow', { ms: 20 }), client.request('echo', { text: 'hi' })];
    await expect(fast).resolves.toEqual({ text: 'HI' });
    await expect(slow).resolves.toEqual({ done: true });
    const requests = sent.filter((entry) => entry.message.type === 'request').map((entry) => entry.message);
    expect(requests).toMatchObject([
      { id: 1, method: 'slow' },
      { id: 2, method: 'echo' },
    ]);
    const error = await client.request('fail', {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AnalysisError);
    expect(error).toMatchObject({ code: 'invalid-model', message: 'That is not a model.' });
    expect(client.pendingCount).toBe(0);
  });

  it('reports progress while a request runs', async () => {
    const { client } = pair();
    const seen: number[] = [];
    await client.request('slow', { ms: 5 }, { onProgress: ({ percent }) => seen.push(percent) });
    expect(seen).toEqual([50]);
  });

  it('cancels: the asker rejects at once and the handler on the other side sees its signal abort', async () => {
    const { client, server, aborted, sent } = pair();
    const abort = new AbortController();
    const pending = client.request('slow', { ms: 10_000 }, { signal: abort.signal });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(server.servingCount).toBe(1);
    abort.abort();
    await expect(pending).rejects.toMatchObject({ code: 'cancelled' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(aborted).toEqual(['slow']);
    expect(server.servingCount).toBe(0);
    // A cancelled request is not answered.
    expect(sent.filter((entry) => entry.from === 'server' && entry.message.type === 'response')).toEqual([]);
  });

  it('times out, and then cancels the work on the other side too', async () => {
    const { client, aborted } = pair({}, 30);
    await expect(client.request('slow', { ms: 10_000 })).rejects.toMatchObject({
      code: 'timeout',
      message: 'No answer or progress from slow within 30 ms.',
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(aborted).toEqual(['slow']);
  });

  it('the timeout is an idle timeout: a job that keeps reporting progress runs past it', async () => {
    const { client } = pair({}, 40);
    const reports: number[] = [];
    // 200 ms of work, a report every 10 ms: five times the timeout, never silent for 40 ms.
    await expect(
      client.request('ticking', { ms: 200, every: 10 }, { onProgress: ({ percent }) => reports.push(percent) }),
    ).resolves.toEqual({
      done: true,
    });
    expect(reports.length).toBeGreaterThan(5);
    await expect(client.request('ticking', { ms: 200, every: 100 })).rejects.toMatchObject({ code: 'timeout' });
  });

  it('close fails everything pending, aborts everything being served, and refuses later requests', async () => {
    const { client, server, aborted } = pair();
    const pending = client.request('slow', { ms: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    server.close(new AnalysisError('worker-crashed', 'gone'));
    client.close(new AnalysisError('worker-crashed', 'The worker stopped.'));
    await expect(pending).rejects.toMatchObject({ code: 'worker-crashed', message: 'The worker stopped.' });
    expect(aborted).toEqual(['slow']);
    await expect(client.request('echo', { text: 'x' })).rejects.toMatchObject({ code: 'worker-crashed' });
    expect(client.pendingCount).toBe(0);
  });

  it('carries events both ways, checked against their schemas', async () => {
    const { client, server, pongs, dropped } = pair();
    client.notify('ping', { count: 1 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(pongs).toEqual([2]);
    expect(server.receive({ type: 'event', event: 'ping', payload: { count: 'one' } })).toBe(false);
    expect(server.receive({ type: 'event', event: 'launch', payload: {} })).toBe(false);
    expect(dropped).toEqual([expect.stringContaining('ping: count'), 'unknown event "launch"']);
  });

  it('answers a request with bad params or an unknown method with an error, never calling a handler', () => {
    const called: string[] = [];
    const answers: RpcMessage[] = [];
    const dropped: string[] = [];
    const record = (name: string) => () => {
      called.push(name);
      throw new Error('a handler ran');
    };
    const server = new RpcChannel<typeof CLIENT, typeof SERVER>({
      post: (message) => answers.push(message),
      local: SERVER,
      handlers: { echo: record('echo'), slow: record('slow'), fail: record('fail'), map: record('map'), ticking: record('ticking') },
      onDropped: (reason) => dropped.push(reason),
    });
    server.receive({ type: 'request', id: 7, method: 'echo', params: { text: 'far too long for ten' } });
    server.receive({ type: 'request', id: 8, method: 'readFile', params: { path: '/etc/passwd' } });
    server.receive({ type: 'request', id: 9, method: 'toString', params: {} });
    expect(server.receive({ type: 'request', method: 'echo', params: { text: 'no id' } })).toBe(false);
    expect(called).toEqual([]);
    expect(answers).toEqual([
      {
        type: 'response',
        id: 7,
        ok: false,
        error: { code: 'invalid-request', message: expect.stringContaining('Malformed echo request') },
      },
      { type: 'response', id: 8, ok: false, error: { code: 'invalid-request', message: 'Unknown request readFile.' } },
      { type: 'response', id: 9, ok: false, error: { code: 'invalid-request', message: 'Unknown request toString.' } },
    ]);
    expect(dropped).toHaveLength(4);
  });

  it('sends typed arrays as binary: views into larger buffers are copied first, whole ones offered for transfer', async () => {
    const { client, sent } = pair();
    const result = await client.request('map', { n: 8 });
    expect(result.map).toBeInstanceOf(Float32Array);
    expect(Array.from(result.map)).toEqual(new Array(8).fill(0.5));
    const response = sent.find((entry) => entry.from === 'server' && entry.message.type === 'response')!;
    expect(response.transfer).toHaveLength(1);
    expect(response.transfer[0]!.byteLength).toBe(32);

    const big = new Float32Array(1000).map((_, index) => index);
    const { value, buffers } = binaryPayload({
      part: big.subarray(10, 14),
      whole: big,
      nested: [{ raw: new ArrayBuffer(3) }],
      labels: ['x'],
    });
    const out = value as { part: Float32Array; whole: Float32Array; nested: Array<{ raw: ArrayBuffer }>; labels: string[] };
    expect(out.part.buffer).not.toBe(big.buffer);
    expect(out.part.buffer.byteLength).toBe(16);
    expect(Array.from(out.part)).toEqual([10, 11, 12, 13]);
    expect(out.whole).toBe(big);
    expect(buffers).toHaveLength(3);
    expect(buffers).toContain(big.buffer);
    expect(buffers).not.toContain(undefined);
  });
});
