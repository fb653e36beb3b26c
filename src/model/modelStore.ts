/**
 * Finds a model's files on disk, downloading them through transformers.js when they come from a hub.
 *
 * Hub downloads go into transformers.js's own file cache (`cacheDir/model/…`), whose writes are atomic (a temporary
 * file renamed when complete), so a dropped connection never leaves a half file under the real name. On top of that
 * this store checks each file against what the hub says about it (size, and SHA-256 where the hub gives one, as
 * huggingface.co does for LFS files) and records the result in a manifest; a cached file that no longer matches
 * its manifest is removed and fetched again.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AutoConfig, env, pipeline } from '@huggingface/transformers';
import { AnalysisError } from '../shared/errors';
import {
  DTYPE_SUFFIX,
  hubCacheFolder,
  ONNX_FILES,
  onnxFileCandidates,
  requiredFiles,
  UNREAD_DTYPES,
  type ModelDtype,
  type ModelRequest,
  type ModelSource,
} from './modelSource';
import { writeAtomically } from './atomicFile';
import { hubUrlProblem, hubUrlProblemMessage } from './hubPolicy';
import { configureTransformersEnv } from './tokenizer';

export interface DownloadProgress {
  /** The file being fetched (the largest in flight). */
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

function writeManifest(folder: string, manifest: Manifest): void {
  // A unique temporary name: two windows writing the same model's manifest must not race on one.
  writeAtomically(path.join(folder, MANIFEST), JSON.stringify(manifest, null, 2));
}

function sizeOf(file: string): number | undefined {
  try {
    return fs.statSync(file).size;
  } catch {
    return undefined;
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
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

/** What the hub says about a file: its size and, for LFS files, its SHA-256 (`X-Linked-Etag`). */
async function describeRemoteFile(source: Extract<ModelSource, { kind: 'hub' }>, name: string, signal?: AbortSignal): Promise<RemoteFile> {
  const url = fileUrl(source, name);
  let response: Response;
  try {
    response = await fetch(url, { method: 'HEAD', redirect: 'manual', ...(signal ? { signal } : {}) });
    if (response.status >= 300 && response.status < 400 && !response.headers.get('x-linked-size')) {
      const location = response.headers.get('location');
      if (location) response = await fetch(new URL(location, url), { method: 'HEAD', ...(signal ? { signal } : {}) });
    }
  } catch (error) {
    if (signal?.aborted) throw new AnalysisError('cancelled', 'The download was cancelled.');
    throw new AnalysisError('model-unavailable', `Could not reach ${source.hubUrl} (${describeFetchError(error)}).`);
  }
  if (response.status === 404) {
    throw new AnalysisError(
      'model-unavailable',
      `${source.hubUrl} has no file ${name} for ${source.modelId} (HTTP 404). Check the model id, or choose another dtype.`,
    );
  }
  if (response.status >= 400) {
    throw new AnalysisError('model-unavailable', `${source.hubUrl} answered HTTP ${response.status} for ${name} of ${source.modelId}.`);
  }
  const size = Number(response.headers.get('x-linked-size') ?? response.headers.get('content-length') ?? NaN);
  const etag = (response.headers.get('x-linked-etag') ?? response.headers.get('etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
  return { name, size: Number.isFinite(size) ? size : -1, ...(/^[0-9a-f]{64}$/.test(etag) ? { sha256: etag } : {}) };
}

export interface ResolveOptions {
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
}

export class ModelStore {
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
    source: Extract<ModelSource, { kind: 'hub' }>,
    dtype: ModelDtype,
    folder: string,
    manifest: Manifest,
    offline: boolean,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const candidates = onnxFileCandidates(dtype);
    const cached = candidates.find((file) => manifest.files[file] !== undefined && sizeOf(path.join(folder, file)) !== undefined);
    if (cached || offline) return cached ?? candidates[0]!;
    for (const file of candidates.slice(0, -1)) {
      const found = await describeRemoteFile(source, file, signal).then(
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
    const manifest = readManifest(folder) ?? { version: 1 as const, files: {} };
    const onnxFile = await this.onnxFileOnHub(source, dtype, folder, manifest, offline, options.signal);
    const files = requiredFiles(dtype, onnxFile);
    const resolved = { folder, onnxPath: path.join(folder, onnxFile), configPath: path.join(folder, 'config.json') };
    const intact = (file: string) => {
      const size = sizeOf(path.join(folder, file));
      const recorded = manifest.files[file];
      return size !== undefined && (recorded === undefined || recorded.size === size);
    };
    // A file that no longer has the size we recorded is damaged: remove it so that it is fetched again.
    for (const file of files) {
      const recorded = manifest.files[file];
      const size = sizeOf(path.join(folder, file));
      if (recorded && size !== undefined && size !== recorded.size) {
        fs.rmSync(path.join(folder, file), { force: true });
        delete manifest.files[file];
      }
    }
    const missing = files.filter((file) => !intact(file));
    const unverified = files.filter((file) => !missing.includes(file) && manifest.files[file] === undefined);
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
      remote.set(file, await describeRemoteFile(source, file, options.signal));
    }
    // Files cached before (by transformers.js alone) are kept if they match what the hub describes.
    for (const file of unverified) {
      const description = remote.get(file)!;
      if (description.size >= 0 && sizeOf(path.join(folder, file)) !== description.size) {
        fs.rmSync(path.join(folder, file), { force: true });
        missing.push(file);
      } else {
        manifest.files[file] = {
          size: sizeOf(path.join(folder, file)) ?? 0,
          ...(description.sha256 ? { sha256: description.sha256 } : {}),
        };
      }
    }

    if (missing.length > 0) {
      // Whatever the download call says, every file it may have written is checked, and a bad one removed.
      const failure = await this.download(source, dtype, onnxFile, missing, remote, options).then(
        () => undefined,
        (error: unknown) => error,
      );
      const problems: string[] = [];
      for (const file of missing) {
        const description = remote.get(file)!;
        const target = path.join(folder, file);
        const size = sizeOf(target);
        if (size === undefined) continue;
        const problem =
          description.size >= 0 && size !== description.size
            ? `has ${size} bytes where the hub announced ${description.size}`
            : description.sha256 && (await sha256File(target)) !== description.sha256
              ? 'does not match the SHA-256 the hub gives for it'
              : undefined;
        if (problem) {
          fs.rmSync(target, { force: true });
          problems.push(`${file} ${problem}`);
        } else {
          manifest.files[file] = { size, ...(description.sha256 ? { sha256: description.sha256 } : {}) };
        }
      }
      if (failure) throw failure instanceof Error ? failure : new Error('The download failed.');
      const notWritten = missing.filter(
        (file) => sizeOf(path.join(folder, file)) === undefined && !problems.some((problem) => problem.startsWith(file)),
      );
      if (problems.length > 0 || notWritten.length > 0) {
        fs.mkdirSync(folder, { recursive: true });
        writeManifest(folder, manifest);
        const details = [...problems, ...notWritten.map((file) => `${file} was not written`)].join('; ');
        throw new AnalysisError(
          'model-unavailable',
          `The download was damaged (${details}); the bad files were removed and will be fetched again on the next try.`,
        );
      }
    }
    fs.mkdirSync(folder, { recursive: true });
    writeManifest(folder, manifest);
    return { ...resolved, downloaded: missing.length > 0 };
  }

  /** Lets transformers.js fetch the files into its cache, with progress and cancellation. */
  private async download(
    source: Extract<ModelSource, { kind: 'hub' }>,
    dtype: ModelDtype,
    onnxFile: string,
    missing: string[],
    remote: Map<string, RemoteFile>,
    options: ResolveOptions,
  ): Promise<void> {
    const modelId = configureTransformersEnv(source);
    const totalBytes = missing.reduce((sum, file) => sum + Math.max(0, remote.get(file)?.size ?? 0), 0);
    const loaded = new Map<string, number>();
    const previousFetch = env.fetch;
    // Every request transformers.js makes carries our abort signal.
    env.fetch = (input: string | URL, init?: RequestInit) =>
      fetch(input, { ...init, ...(options.signal ? { signal: options.signal } : {}) });
    let largest = missing[0] ?? '';
    try {
      // The pipeline of the model's kind fetches its files (a decoder's, from the file name it has on the hub).
      const config = (await AutoConfig.from_pretrained(modelId, { revision: source.revision, cache_dir: source.cacheDir })) as unknown as {
        architectures?: unknown;
      };
      const architectures = Array.isArray(config.architectures) ? config.architectures.map(String) : [];
      const decoder = architectures.some((name) => name.endsWith('ForCausalLM') || name.endsWith('LMHeadModel'));
      const classifier = await pipeline(decoder ? 'text-generation' : 'text-classification', modelId, {
        dtype,
        revision: source.revision,
        cache_dir: source.cacheDir,
        model_file_name: path.basename(onnxFile, '.onnx').replace(DTYPE_SUFFIX[dtype], ''),
        progress_callback: (event) => {
          if (event.status !== 'progress' || !('file' in event)) return;
          loaded.set(event.file, event.loaded);
          if ((remote.get(event.file)?.size ?? 0) >= (remote.get(largest)?.size ?? 0)) largest = event.file;
          const loadedBytes = [...loaded.values()].reduce((sum, value) => sum + value, 0);
          options.onProgress?.({ file: largest, loadedBytes: Math.min(loadedBytes, totalBytes || loadedBytes), totalBytes });
        },
      });
      // transformers.js also built a session on the stock graph; only the files were wanted.
      await classifier.dispose();
    } catch (error) {
      if (options.signal?.aborted) {
        throw new AnalysisError('cancelled', 'The download was cancelled.');
      }
      throw new AnalysisError(
        'model-unavailable',
        `Could not download ${source.modelId} from ${source.hubUrl} (${describeFetchError(error)}).`,
      );
    } finally {
      env.fetch = previousFetch;
    }
  }
}
