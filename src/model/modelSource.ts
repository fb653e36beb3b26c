/**
 * Where a model comes from: a folder on disk, or a hub (huggingface.co or a mirror) whose files transformers.js
 * downloads into a cache folder; and which of its ONNX files to run.
 */
import * as path from 'node:path';
import type { ModelDtype, TaskId } from '../shared/analysis';

export type { ModelDtype } from '../shared/analysis';

export type ModelSource =
  { kind: 'folder'; folder: string } | { kind: 'hub'; modelId: string; hubUrl: string; revision: string; cacheDir: string };

/** The file-name suffix transformers.js gives each dtype's ONNX file. */
export const DTYPE_SUFFIX: Record<ModelDtype, string> = {
  fp32: '',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  fp16: '_fp16',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

/** Dtypes whose graphs compute in float16: their attention and logits come out as float16, which is not read yet. */
export const UNREAD_DTYPES: readonly ModelDtype[] = ['fp16', 'q4f16'];

/** The ONNX file of each dtype, as transformers.js names it. */
export const ONNX_FILES = Object.fromEntries(
  Object.entries(DTYPE_SUFFIX).map(([dtype, suffix]) => [dtype, `onnx/model${suffix}.onnx`]),
) as Record<ModelDtype, string>;

/**
 * The files that may hold a dtype's graph, in the order they are looked for: `model*.onnx`, then optimum's older merged
 * decoder (`decoder_model_merged*.onnx`, e.g. Xenova/distilgpt2, which has no `model.onnx`).
 */
export function onnxFileCandidates(dtype: ModelDtype): string[] {
  return [ONNX_FILES[dtype], `onnx/decoder_model_merged${DTYPE_SUFFIX[dtype]}.onnx`];
}

/**
 * A Hugging Face model id: `name` or `owner/name`, of word characters, dots and dashes, each segment starting with a
 * letter or digit (so that no id — `.`, `owner/.`, `..` — maps its cache folder onto the models root or above it).
 */
export function isHubModelId(id: string): boolean {
  return /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/.test(id) && !id.includes('..');
}

/**
 * How many external data files (`<file>_data`, `<file>_data_1`, …) a model's config.json declares for one of its ONNX
 * files, read as transformers.js reads `transformers.js_config.use_external_data_format`: a boolean or a count for
 * every file, or an object keyed by the file's name (`model_quantized.onnx`) or its base name (`model`).
 */
export function externalDataFiles(config: unknown, dtype: ModelDtype, onnxFile: string): number {
  const custom = (config as { 'transformers.js_config'?: { use_external_data_format?: unknown } } | null)?.['transformers.js_config'];
  const declared = custom?.use_external_data_format;
  if (!declared) return 0;
  const fullName = path.posix.basename(onnxFile);
  const baseName = fullName.replace(/\.onnx$/, '').replace(new RegExp(`${DTYPE_SUFFIX[dtype]}$`), '');
  const count = Number(
    typeof declared === 'object'
      ? ((declared as Record<string, unknown>)[fullName] ?? (declared as Record<string, unknown>)[baseName] ?? 0)
      : declared,
  );
  return Number.isFinite(count) && count > 0 ? Math.ceil(count) : 0;
}

export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'];

/** The files a model folder must hold to run with a dtype (`onnxFile`: the one found of its candidates). */
export function requiredFiles(dtype: ModelDtype, onnxFile = ONNX_FILES[dtype]): string[] {
  return ['config.json', ...TOKENIZER_FILES, onnxFile];
}

/** Everything the worker needs to find, fetch and load a model. */
export interface ModelRequest {
  source: ModelSource;
  dtype: ModelDtype;
  /** The task to run, where the model offers several; the model's default when absent. */
  task?: TaskId;
  /** Never download; use the cache or the folder only. */
  offline: boolean;
  /** Where instrumented graphs go when they cannot be written beside the original. */
  storageDir: string;
}

/** A short name for labels: the model id, or the folder's name. */
export function modelDisplayName(source: ModelSource): string {
  return source.kind === 'hub' ? source.modelId : path.basename(source.folder);
}

/** A stable key for caching whatever was loaded from a source. */
export function modelSourceKey(source: ModelSource): string {
  return source.kind === 'hub' ? `hub:${source.hubUrl}|${source.modelId}@${source.revision}|${source.cacheDir}` : `folder:${source.folder}`;
}

export function modelRequestKey(request: ModelRequest): string {
  return `${modelSourceKey(request.source)}|${request.dtype}|${request.task ?? 'default'}`;
}

/** The folder transformers.js's file cache keeps a hub model in (`cacheDir/model[/revision]`). */
export function hubCacheFolder(source: Extract<ModelSource, { kind: 'hub' }>): string {
  return source.revision === 'main'
    ? path.join(source.cacheDir, ...source.modelId.split('/'))
    : path.join(source.cacheDir, ...source.modelId.split('/'), source.revision);
}
