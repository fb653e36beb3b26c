/**
 * Finds a model's files on disk, downloading them when they come from a hub.
 *
 * Hub downloads go into the layout of transformers.js's file cache (`cacheDir/model/…`), so that its tokenizer loader
 * reads them as a folder. The store fetches every file itself (`hubFetch.ts`: each redirect held to the hub policy)
 * and streams it into an exclusive temporary file, counting it against the size the hub announced, hashing it, and
 * renaming it into place only once its size and SHA-256 (where the hub gives one, as huggingface.co does for LFS
 * files) match; nothing reads a file before that. The result is recorded in a manifest; a cached file that no
 * longer matches its manifest is removed and fetched again.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AnalysisError } from '../shared/errors';
import {
  externalDataFiles,
  hubCacheFolder,
  modelDisplayName,
  ONNX_FILES,
  onnxFileCandidates,
  requiredFiles,
  UNREAD_DTYPES,
  type ModelDtype,
  type ModelRequest,
  type ModelSource,
} from './modelSource';
import { withFileLock, writeAtomically, writeStreamAtomically } from './atomicFile';
import { HUB_IDLE_TIMEOUT_MS, hubFetch, IdleTimeout } from './hubFetch';
import { hubUrlProblem, hubUrlProblemMessage } from './hubPolicy';

export interface DownloadProgress {
  /** The file being fetched (before the first request: the one about to be asked for, at 0 of 0 bytes). */
  file: string;
  loadedBytes: number;
  totalBytes: number;
}

export interface ResolvedModel {
  folder: string;
  onnxPath: string;
  configPath: string;
  /** Whether anything was downloaded for this request. */
  downloaded: boolean;
}

interface ManifestEntry {
  size: number;
  sha256?: string;
}

interface Manifest {
  version: 1;
  files: Record<string, ManifestEntry>;
}

const MANIFEST = '.attention-explorer-manifest.json';
const MANIFEST_LOCK = '.attention-explorer-manifest.lock';

/** The most bytes taken for a file whose size the hub does not announce: the largest ONNX file protobuf can hold. */
const MAX_UNANNOUNCED_FILE_BYTES = 2 ** 31;

interface RemoteFile {
  name: string;
  size: number;
  sha256?: string;
}

function readManifest(folder: string): Manifest | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(path.join(folder, MANIFEST), 'utf8')) as Manifest;
    return parsed.version === 1 && typeof parsed.files === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A model folder's manifest as one resolve reads and changes it. Another window may change the file meanwhile (another
 * dtype of the same model): {@link save} re-reads it under a lock and applies only this resolve's own changes.
 */
class ManifestEdits {
  private readonly files: Record<string, ManifestEntry>;
  private readonly changed = new Set<string>();

  constructor(private readonly folder: string) {
    this.files = { ...(readManifest(folder)?.files ?? {}) };
  }

  get(file: string): ManifestEntry | undefined {
    return this.files[file];
  }

  set(file: string, entry: ManifestEntry): void {
    this.files[file] = entry;
    this.changed.add(file);
  }

  remove(file: string): void {
    delete this.files[file];
    this.changed.add(file);
  }

  async save(): Promise<void> {
    if (this.changed.size === 0) return;
    await withFileLock(path.join(this.folder, MANIFEST_LOCK), () => {
      const current = readManifest(this.folder) ?? { version: 1, files: {} };
      for (const file of this.changed) {
        const entry = this.files[file];
        if (entry) current.files[file] = entry;
        else delete current.files[file];
      }
      writeAtomically(path.join(this.folder, MANIFEST), JSON.stringify(current, null, 2));
    });
  }
}

function sizeOf(file: string): number | undefined {
  try {
    return fs.statSync(file).size;
  } catch {
    return undefined;
  }
}

function fileUrl(source: Extract<ModelSource, { kind: 'hub' }>, file: string): string {
  const base = source.hubUrl.replace(/\/+$/, '');
  return `${base}/${source.modelId}/resolve/${encodeURIComponent(source.revision)}/${file}`;
}

function describeFetchError(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ? `${error.message}: ${cause.code}` : error.message;
  }
  return String(error);
}

/** One resolve's dealings with the hub. */
interface HubContext {
  source: Extract<ModelSource, { kind: 'hub' }>;
  signal: AbortSignal | undefined;
  idleTimeoutMs: number;
  /** Told before each request; the first call reports progress at 0 bytes, so that the host shows its Cancel at once. */
  contacting: (file: string) => void;
}

function statusError(source: Extract<ModelSource, { kind: 'hub' }>, name: string, status: number): AnalysisError {
  return status === 404
    ? new AnalysisError(
        'model-unavailable',
        `${source.hubUrl} has no file ${name} for ${source.modelId} (HTTP 404). Check the model id, or choose another dtype.`,
      )
    : new AnalysisError('model-unavailable', `${source.hubUrl} answered HTTP ${status} for ${name} of ${source.modelId}.`);
}

/** What the hub says about a file: its size and, for LFS files, its SHA-256 (`X-Linked-Etag`). */
async function describeRemoteFile(context: HubContext, name: string): Promise<RemoteFile> {
  const { source, signal } = context;
  const idle = new IdleTimeout(context.idleTimeoutMs, signal);
  context.contacting(name);
  let response: Response;
  try {
    response = await hubFetch(fileUrl(source, name), {
      method: 'HEAD',
      idle,
      hub: source.hubUrl,
      file: name,
      keep: (redirect) => redirect.headers.has('x-linked-size'),
    });
  } catch (error) {
    if (signal?.aborted) throw new AnalysisError('cancelled', 'The download was cancelled.');
    if (error instanceof AnalysisError) throw error;
    throw new AnalysisError('model-unavailable', `Could not reach ${source.hubUrl} (${describeFetchError(error)}).`);
  } finally {
    idle.dispose();
  }
  if (response.status >= 400) throw statusError(source, name, response.status);
  const size = Number(response.headers.get('x-linked-size') ?? response.headers.get('content-length') ?? NaN);
  const etag = (response.headers.get('x-linked-etag') ?? response.headers.get('etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
  return { name, size: Number.isFinite(size) ? size : -1, ...(/^[0-9a-f]{64}$/.test(etag) ? { sha256: etag } : {}) };
}

function damaged(details: string): AnalysisError {
  return new AnalysisError(
    'model-unavailable',
    `The download was damaged (${details}); the bad file was removed and will be fetched again on the next try.`,
  );
}

/**
 * Streams one file into place: never more bytes than the hub announced, renamed into the cache only when its size and
 * SHA-256 match (see {@link writeStreamAtomically}). `onBytes` hears the bytes received so far.
 */
async function downloadFile(
  context: HubContext,
  description: RemoteFile,
  target: string,
  onBytes: (bytes: number) => void,
): Promise<ManifestEntry> {
  const { source } = context;
  const { name } = description;
  const idle = new IdleTimeout(context.idleTimeoutMs, context.signal);
  context.contacting(name);
  try {
    const response = await hubFetch(fileUrl(source, name), { method: 'GET', idle, hub: source.hubUrl, file: name });
    if (response.status !== 200 || !response.body) {
      await response.arrayBuffer().catch(() => undefined);
      throw statusError(source, name, response.status);
    }
    const limit = description.size >= 0 ? description.size : MAX_UNANNOUNCED_FILE_BYTES;
    const hash = createHash('sha256');
    let received = 0;
    // Node's web streams are async iterable; the lib types the project builds against do not say so.
    const body = response.body as unknown as AsyncIterable<Uint8Array>;
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of body) {
        idle.touch();
        received += chunk.byteLength;
        if (received > limit) {
          throw new AnalysisError(
            'model-unavailable',
            `${source.hubUrl} sent more than the ${limit} bytes ${description.size >= 0 ? 'it announced' : 'a file may have'} for ${name}; the download was refused.`,
          );
        }
        hash.update(chunk);
        onBytes(received);
        yield chunk;
      }
    }
    await writeStreamAtomically(target, counted(), () => {
      if (description.size >= 0 && received !== description.size) {
        throw damaged(`${name} has ${received} bytes where the hub announced ${description.size}`);
      }
      if (description.sha256 && hash.digest('hex') !== description.sha256) {
        throw damaged(`${name} does not match the SHA-256 the hub gives for it`);
      }
    });
    return { size: received, ...(description.sha256 ? { sha256: description.sha256 } : {}) };
  } catch (error) {
    if (idle.timedOut) throw idle.error(source.hubUrl, name);
    throw error;
  } finally {
    idle.dispose();
  }
}

/**
 * Refuses a model whose ONNX file keeps its weights in external data files: the instrumentation rewrites the graph as
 * one file (and splits it into layers in memory), where weights outside it cannot follow, so those files are never
 * fetched or trusted. Read from config.json, before the graph is downloaded.
 */
function refuseExternalData(source: ModelSource, configPath: string, dtype: ModelDtype, onnxFile: string): void {
  let config: unknown;
  try {
    config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  } catch {
    return; // an unreadable config.json is reported by the family reader, with its reason
  }
  const files = externalDataFiles(config, dtype, onnxFile);
  if (files === 0) return;
  throw new AnalysisError(
    'invalid-model',
    `${modelDisplayName(source)} keeps the weights of ${onnxFile} in ${files} external data file${files === 1 ? '' : 's'} (${onnxFile}_data…, declared by transformers.js_config.use_external_data_format in config.json). Attention Explorer rewrites the graph to read its attention and cannot carry weights kept outside it; choose a dtype whose file holds its weights (q8, q4), or another model.`,
  );
}

export interface ResolveOptions {
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
}

export interface ModelStoreOptions {
  /** How long the hub may stay silent (tests lower it); {@link HUB_IDLE_TIMEOUT_MS} by default. */
  idleTimeoutMs?: number;
}

export class ModelStore {
  private readonly idleTimeoutMs: number;

  constructor(options: ModelStoreOptions = {}) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? HUB_IDLE_TIMEOUT_MS;
  }

  /** Finds (and if needed downloads and checks) every file a request needs. */
  async resolve(request: ModelRequest, options: ResolveOptions = {}): Promise<ResolvedModel> {
    if (UNREAD_DTYPES.includes(request.dtype)) {
      throw new AnalysisError(
        'invalid-model',
        `The ${request.dtype} graphs compute in float16, whose attention Attention Explorer does not read yet; choose fp32, q8, int8, uint8, q4 or bnb4.`,
      );
    }
    if (request.source.kind === 'folder') {
      const folder = request.source.folder;
      const onnxFile =
        onnxFileCandidates(request.dtype).find((file) => fs.existsSync(path.join(folder, file))) ?? ONNX_FILES[request.dtype];
      const files = requiredFiles(request.dtype, onnxFile);
      const missing = files.filter((file) => !fs.existsSync(path.join(folder, file)));
      if (missing.length > 0) {
        throw new AnalysisError(
          'invalid-model',
          `The model folder ${folder} is missing ${missing.join(', ')}. A transformers.js model folder has config.json, tokenizer.json, tokenizer_config.json and ${ONNX_FILES[request.dtype]} (dtype ${request.dtype}).`,
        );
      }
      refuseExternalData(request.source, path.join(folder, 'config.json'), request.dtype, onnxFile);
      return {
        folder,
        onnxPath: path.join(folder, onnxFile),
        configPath: path.join(folder, 'config.json'),
        downloaded: false,
      };
    }
    const problem = hubUrlProblem(request.source.hubUrl);
    if (problem) throw new AnalysisError('model-unavailable', hubUrlProblemMessage(problem, 'The hub URL', request.source.hubUrl));
    return this.resolveFromHub(request.source, request.dtype, request.offline, options);
  }

  /**
   * Which of a dtype's candidate files the model has: one already downloaded, else the first the hub has (asked in
   * order, a 404 moving on to the next).
   */
  private async onnxFileOnHub(
    context: HubContext,
    dtype: ModelDtype,
    folder: string,
    manifest: ManifestEdits,
    offline: boolean,
  ): Promise<string> {
    const candidates = onnxFileCandidates(dtype);
    const cached = candidates.find((file) => manifest.get(file) !== undefined && sizeOf(path.join(folder, file)) !== undefined);
    if (cached || offline) return cached ?? candidates[0]!;
    for (const file of candidates.slice(0, -1)) {
      const found = await describeRemoteFile(context, file).then(
        () => true,
        (error: unknown) => {
          if (error instanceof AnalysisError && error.message.includes('HTTP 404')) return false;
          throw error;
        },
      );
      if (found) return file;
    }
    return candidates.at(-1)!;
  }

  /** Removes a hub model's cached files (all dtypes), e.g. after its ONNX file failed to load. */
  forget(source: ModelSource): void {
    if (source.kind === 'hub') {
      fs.rmSync(hubCacheFolder(source), { recursive: true, force: true });
    }
  }

  private async resolveFromHub(
    source: Extract<ModelSource, { kind: 'hub' }>,
    dtype: ModelDtype,
    offline: boolean,
    options: ResolveOptions,
  ): Promise<ResolvedModel> {
    const folder = hubCacheFolder(source);
    const manifest = new ManifestEdits(folder);
    let contacted = false;
    const context: HubContext = {
      source,
      signal: options.signal,
      idleTimeoutMs: this.idleTimeoutMs,
      contacting: (file) => {
        if (!contacted) options.onProgress?.({ file, loadedBytes: 0, totalBytes: 0 });
        contacted = true;
      },
    };
    const onnxFile = await this.onnxFileOnHub(context, dtype, folder, manifest, offline);
    const files = requiredFiles(dtype, onnxFile);
    const resolved = { folder, onnxPath: path.join(folder, onnxFile), configPath: path.join(folder, 'config.json') };
    const intact = (file: string) => {
      const size = sizeOf(path.join(folder, file));
      const recorded = manifest.get(file);
      return size !== undefined && (recorded === undefined || recorded.size === size);
    };
    // A file that no longer has the size we recorded is damaged: remove it so that it is fetched again.
    for (const file of files) {
      const recorded = manifest.get(file);
      const size = sizeOf(path.join(folder, file));
      if (recorded && size !== undefined && size !== recorded.size) {
        fs.rmSync(path.join(folder, file), { force: true });
        manifest.remove(file);
      }
    }
    const missing = files.filter((file) => !intact(file));
    const unverified = files.filter((file) => !missing.includes(file) && manifest.get(file) === undefined);
    const checkConfig = () => refuseExternalData(source, resolved.configPath, dtype, onnxFile);
    if (!missing.includes('config.json')) checkConfig();
    if (missing.length === 0 && (unverified.length === 0 || offline)) {
      return { ...resolved, downloaded: false };
    }
    if (offline) {
      throw new AnalysisError(
        'model-unavailable',
        `${source.modelId} (${dtype}) is not downloaded yet (missing ${missing.join(', ')}) and offline mode is on.`,
      );
    }

    const remote = new Map<string, RemoteFile>();
    for (const file of [...missing, ...unverified]) {
      remote.set(file, await describeRemoteFile(context, file));
    }
    // Files cached before (by transformers.js alone) are kept if they match what the hub describes.
    for (const file of unverified) {
      const description = remote.get(file)!;
      if (description.size >= 0 && sizeOf(path.join(folder, file)) !== description.size) {
        fs.rmSync(path.join(folder, file), { force: true });
        missing.push(file);
      } else {
        manifest.set(file, {
          size: sizeOf(path.join(folder, file)) ?? 0,
          ...(description.sha256 ? { sha256: description.sha256 } : {}),
        });
      }
    }

    try {
      // config.json first: what it declares may refuse the model before its graph is fetched.
      missing.sort((a, b) => Number(b === 'config.json') - Number(a === 'config.json'));
      await this.download(context, missing, remote, folder, manifest, options.onProgress, (file) => {
        if (file === 'config.json') checkConfig();
      });
    } finally {
      // Whatever happened, the files that arrived whole are recorded.
      await manifest.save();
    }
    return { ...resolved, downloaded: missing.length > 0 };
  }

  /** Fetches the missing files one after another, with progress over all of them, recording each in the manifest. */
  private async download(
    context: HubContext,
    missing: string[],
    remote: Map<string, RemoteFile>,
    folder: string,
    manifest: ManifestEdits,
    onProgress: ResolveOptions['onProgress'],
    /** Told of each file once it is in place; throws to stop there. */
    arrived: (file: string) => void,
  ): Promise<void> {
    const { source } = context;
    const totalBytes = missing.reduce((sum, file) => sum + Math.max(0, remote.get(file)?.size ?? 0), 0);
    let done = 0;
    for (const file of missing) {
      const description = remote.get(file)!;
      let entry: ManifestEntry;
      try {
        entry = await downloadFile(context, description, path.join(folder, file), (bytes) => {
          const loadedBytes = done + bytes;
          onProgress?.({ file, loadedBytes: Math.min(loadedBytes, totalBytes || loadedBytes), totalBytes });
        });
      } catch (error) {
        if (context.signal?.aborted) throw new AnalysisError('cancelled', 'The download was cancelled.');
        if (error instanceof AnalysisError) throw error;
        throw new AnalysisError(
          'model-unavailable',
          `Could not download ${file} of ${source.modelId} from ${source.hubUrl} (${describeFetchError(error)}).`,
        );
      }
      manifest.set(file, entry);
      done += entry.size;
      arrived(file);
    }
  }
}
