/**
 * A loopback stand-in for the Hugging Face hub: serves model folders under the hub's URL scheme
 * (`/{owner}/{model}/resolve/{revision}/{file}`), with HEAD, Content-Length, byte ranges, and the headers
 * huggingface.co sends for LFS files (`X-Linked-Size`, `X-Linked-Etag` = SHA-256), so that the real download,
 * progress, cache and verification code runs in tests. Faults on demand: a connection dropped mid-file, an HTTP
 * status, a slow transfer, corrupted bytes, a redirect, a hub that accepts the connection and then says nothing, a
 * file that never ends.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

export interface HubRepository {
  /** `owner/name`, as in `Xenova/distilbert-base-uncased-finetuned-sst-2-english`. */
  id: string;
  folder: string;
}

export type HubFault =
  | { kind: 'drop'; afterBytes: number }
  | { kind: 'status'; status: number }
  | { kind: 'slow'; bytesPerSecond: number }
  | { kind: 'corrupt' }
  /** Sends the file, without a Content-Length, and then zeros until the client hangs up (HEAD still says the true size). */
  | { kind: 'endless' }
  /** Accepts the request and never answers it. */
  | { kind: 'hang' }
  /** Sends the headers and the first `afterBytes` bytes, then nothing more (the connection stays open). */
  | { kind: 'stall'; afterBytes: number }
  /** Answers 302 to `location`, where `{file}` stands for the file's path in the repository. */
  | { kind: 'redirect'; location: string };

export interface FaultRule {
  fault: HubFault;
  /** Which file paths it applies to (default: every file). */
  file?: RegExp;
  /** Which model it applies to (default: every model). */
  model?: string;
  /** Only for GET (default) or also for HEAD. */
  methods?: Array<'GET' | 'HEAD'>;
  /** How many requests it affects before it disarms itself (default: all). */
  times?: number;
}

export interface HubRequest {
  method: string;
  path: string;
  status: number;
}

const LFS = /\.(onnx|safetensors|bin|onnx_data)$/;

export class LoopbackHub {
  readonly requests: HubRequest[] = [];
  private readonly rules: FaultRule[] = [];
  private readonly hashes = new Map<string, string>();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    private readonly repositories: Map<string, string>,
  ) {}

  static async start(repositories: HubRepository[], port = 0): Promise<LoopbackHub> {
    const map = new Map(repositories.map((repository) => [repository.id, repository.folder]));
    // The handler needs the hub, and the hub needs the server: the box is filled once the server listens.
    const box: { hub?: LoopbackHub } = {};
    const server = http.createServer((request, response) => box.hub!.handle(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    const actualPort = typeof address === 'object' && address ? address.port : port;
    box.hub = new LoopbackHub(server, `http://127.0.0.1:${actualPort}`, map);
    return box.hub;
  }

  addRepository(repository: HubRepository): void {
    this.repositories.set(repository.id, repository.folder);
  }

  addFault(rule: FaultRule): void {
    this.rules.push({ ...rule });
  }

  clearFaults(): void {
    this.rules.length = 0;
  }

  /** Whole-file GETs (status 200) of files whose path matches; range probes (206) do not count. */
  fullDownloadsOf(file: RegExp): HubRequest[] {
    return this.requests.filter((request) => request.method === 'GET' && request.status === 200 && file.test(request.path));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private takeFault(method: string, model: string, file: string): HubFault | undefined {
    const index = this.rules.findIndex(
      (rule) =>
        (rule.methods ?? ['GET']).includes(method as 'GET' | 'HEAD') &&
        (!rule.file || rule.file.test(file)) &&
        (!rule.model || rule.model === model) &&
        (rule.times === undefined || rule.times > 0),
    );
    if (index < 0) return undefined;
    const rule = this.rules[index]!;
    if (rule.times !== undefined) rule.times -= 1;
    return rule.fault;
  }

  private sha256(file: string): string {
    let hash = this.hashes.get(file);
    if (!hash) {
      hash = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
      this.hashes.set(file, hash);
    }
    return hash;
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const method = request.method ?? 'GET';
    const url = new URL(request.url ?? '/', this.url);
    const record = (status: number) => this.requests.push({ method, path: url.pathname, status });
    const match = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(decodeURIComponent(url.pathname));
    const folder = match ? this.repositories.get(match[1]!) : undefined;
    const relative = match?.[3] ?? '';
    const file = folder ? path.join(folder, relative) : '';
    if (!match || !folder || relative.split('/').includes('..') || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      record(404);
      response.writeHead(404, { 'Content-Type': 'text/plain', 'X-Error-Code': 'EntryNotFound' }).end('Entry not found');
      return;
    }
    const fault = this.takeFault(method, match[1]!, relative);
    if (fault?.kind === 'status') {
      record(fault.status);
      response.writeHead(fault.status, { 'Content-Type': 'text/plain' }).end(`injected HTTP ${fault.status}`);
      return;
    }
    if (fault?.kind === 'hang') {
      record(0);
      return;
    }
    if (fault?.kind === 'redirect') {
      record(302);
      response.writeHead(302, { Location: fault.location.replaceAll('{file}', relative) }).end();
      return;
    }
    const size = fs.statSync(file).size;
    const headers: Record<string, string | number> = {
      'Content-Type': relative.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      'X-Repo-Commit': '0000000000000000000000000000000000000000',
      ETag: `"${this.sha256(file).slice(0, 40)}"`,
    };
    if (LFS.test(relative)) {
      headers['X-Linked-Size'] = size;
      headers['X-Linked-Etag'] = `"${this.sha256(file)}"`;
    }
    let start = 0;
    let end = size - 1;
    const range = /^bytes=(\d*)-(\d*)$/.exec(request.headers.range ?? '');
    if (range) {
      start = range[1] ? Number(range[1]) : Math.max(0, size - Number(range[2]));
      end = range[1] && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    }
    headers['Content-Length'] = end - start + 1;
    const status = range ? 206 : 200;
    record(status);
    if (fault?.kind === 'endless' && method === 'GET') {
      delete headers['Content-Length'];
      response.writeHead(status, headers);
      const zeros = Buffer.alloc(64 * 1024);
      const more = (): void => {
        while (!response.destroyed && response.write(zeros));
        if (!response.destroyed) response.once('drain', more);
      };
      response.write(fs.readFileSync(file));
      more();
      return;
    }
    response.writeHead(status, headers);
    if (method === 'HEAD') {
      response.end();
      return;
    }
    let bytes = fs.readFileSync(file).subarray(start, end + 1);
    if (fault?.kind === 'corrupt') {
      bytes = Buffer.from(bytes);
      bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    }
    if (fault?.kind === 'drop') {
      response.write(bytes.subarray(0, Math.min(fault.afterBytes, bytes.length)), () => response.destroy());
      return;
    }
    if (fault?.kind === 'stall') {
      response.write(bytes.subarray(0, Math.min(fault.afterBytes, bytes.length)));
      return;
    }
    if (fault?.kind === 'slow') {
      const chunk = Math.max(1024, Math.floor(fault.bytesPerSecond / 20));
      let offset = 0;
      const timer = setInterval(() => {
        if (response.destroyed) return clearInterval(timer);
        response.write(bytes.subarray(offset, offset + chunk));
        offset += chunk;
        if (offset >= bytes.length) {
          clearInterval(timer);
          response.end();
        }
      }, 50);
      return;
    }
    response.end(bytes);
  }
}
