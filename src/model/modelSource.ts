/**
 * Where a model comes from: a folder on disk, or a hub (huggingface.co or a mirror) whose files transformers.js
 * downloads into a cache folder; and which of its ONNX files to run.
 */
import * as path from 'node:path';
import type { ModelDtype, TaskId } from '../shared/analysis';

export type { ModelDtype } from '../shared/analysis';

export type ModelSource =
  { kind: 'folder'; folder: string } | { kind: 'hub'; modelId: string; hubUrl: string; revision: string; cacheDir: string };

export const ONNX_FILES: Record<ModelDtype, string> = {
  fp32: 'onnx/model.onnx',
  q8: 'onnx/model_quantized.onnx',
};

/** A Hugging Face model id: `name` or `owner/name`, of word characters, dots and dashes, never `..`. */
export function isHubModelId(id: string): boolean {
  return /^[\w.-]+(\/[\w.-]+)?$/.test(id) && !id.includes('..');
}

export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'];

/** The files a model folder must hold to run with a dtype. */
export function requiredFiles(dtype: ModelDtype): string[] {
  return ['config.json', ...TOKENIZER_FILES, ONNX_FILES[dtype]];
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
