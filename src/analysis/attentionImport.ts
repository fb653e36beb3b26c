/**
 * Attention from elsewhere (an `.attention.json` file, a notebook output) becomes an analysis in the host's store:
 * the worker reads the document and keeps its attention, the store keeps the record and its head means. The record
 * has no document (an empty `documentUri`): nothing tracks it in an editor, tints, hovers or analyses it again.
 */
import type * as vscode from 'vscode';
import type { AttentionSource } from '../model/attentionImport';
import type { AttentionViewTab } from '../shared/attentionFile';
import type { AnalysisRecord, AnalysisStore } from './analysisStore';
import type { ModelService } from './modelService';

/** What to import: where the document is, which of its self-attentions, and what the panel calls it. */
export interface AttentionImport {
  source: AttentionSource;
  /** The attention's name in the document ("attention"; "encoder" or "decoder" of an encoder-decoder). */
  attention: string;
  /** The file's name, or the notebook's ("notes.ipynb, output"). */
  documentName: string;
}

export interface ImportedRecord {
  record: AnalysisRecord;
  /** What the document asks a viewer to show first. */
  view: { tab?: AttentionViewTab; layer?: number; head?: number };
}

/** Imports a document's attention into the worker and the store; throws the worker's message when it cannot. */
export async function importAttention(
  models: ModelService,
  store: AnalysisStore,
  log: vscode.LogOutputChannel,
  request: AttentionImport,
  signal?: AbortSignal,
): Promise<ImportedRecord> {
  const id = store.newId();
  const started = performance.now();
  const { analysis, headMeans, view } = await models.importAttention({ analysisId: id, ...request }, signal);
  const record: AnalysisRecord = { ...analysis, exactOffsets: true, createdAt: Date.now() };
  store.add(record, { headMeans });
  log.info(
    `Opened attention "${request.attention}" of ${request.documentName} (${request.source.kind}): ${analysis.model.name}, ${analysis.model.layers} layers × ${analysis.model.heads} heads, ${analysis.tokens.length} tokens, in ${(performance.now() - started).toFixed(0)} ms.`,
  );
  return { record, view };
}
