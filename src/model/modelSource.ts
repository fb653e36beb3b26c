/**
 * Where a model comes from: a folder on disk, or a hub (huggingface.co or a mirror) whose files transformers.js
 * downloads into a cache folder.
 */
import * as path from 'node:path';

export type ModelSource =
  | { kind: 'folder'; folder: string }
  | { kind: 'hub'; modelId: string; hubUrl: string; revision: string; cacheDir: string };

/** A short name for labels: the model id, or the folder's name. */
export function modelDisplayName(source: ModelSource): string {
  return source.kind === 'hub' ? source.modelId : path.basename(source.folder);
}

/** A stable key for caching whatever was loaded from a source. */
export function modelSourceKey(source: ModelSource): string {
  return source.kind === 'hub'
    ? `hub:${source.hubUrl}|${source.modelId}@${source.revision}|${source.cacheDir}`
    : `folder:${source.folder}`;
}
