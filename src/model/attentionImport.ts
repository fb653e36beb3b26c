/**
 * Attention that came from elsewhere, read in the worker: an attention document (docs/ATTENTION_FORMAT.md) from a
 * `.attention.json` file the worker reads itself, from a file's text the host read through VS Code's file system, or
 * from a notebook output's data, turned into an analysis with no model behind it (the `none` task) and the attention
 * the views ask about. Every failure is an {@link AnalysisError} with a message a user can act on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Analysis, SourceRange } from '../shared/analysis';
import {
  AttentionFileError,
  importedAnalysis,
  MAX_ATTENTION_BYTES,
  parseAttentionDocument,
  readAttentionDocument,
  selfAttentions,
  type AttentionDocument,
} from '../shared/attentionFile';
import type { HeldAttention } from '../shared/attentionViews';
import { AnalysisError, messageOf } from '../shared/errors';

/**
 * The most text an attention document may have: its weights as base64 at float32 (4/3 of 64 MiB), twice over for
 * safety, and room for its tokens and text. Larger files are refused before they are read.
 */
export const MAX_ATTENTION_TEXT_BYTES = 2 * MAX_ATTENTION_BYTES + 16 * 2 ** 20;

/** Where a document to import comes from. */
export type AttentionSource =
  /** A notebook output's data: the document as JSON parsed it. */
  | { kind: 'document'; document: unknown }
  /** A file on this machine's disk, read by the worker. */
  | { kind: 'file'; path: string }
  /** A file's text, read by the host (a file system VS Code reaches and the worker does not: remote, virtual). */
  | { kind: 'text'; text: string };

/** What the host needs of an imported attention: the analysis, its head means, and what a viewer shows first. */
export interface ImportedAttention {
  analysis: Analysis;
  /** `[layers, n, n]`: each layer's mean over its heads. */
  headMeans: Float32Array;
  view: AttentionDocument['view'];
}

const READ_FAILURES: Readonly<Record<string, string>> = {
  ENOENT: 'it does not exist',
  ENOTDIR: 'a part of the path is not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder',
  ELOOP: 'it is a loop of symbolic links',
  EMFILE: 'too many files are open',
  EIO: 'the disk reported an input/output error',
};

function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function tooLarge(what: string, bytes: number): AnalysisError {
  return new AnalysisError(
    'invalid-document',
    `${what} is ${mebibytes(bytes)}; Attention Explorer reads attention documents up to ${mebibytes(MAX_ATTENTION_TEXT_BYTES)} (${MAX_ATTENTION_BYTES / 2 ** 20} MiB of weights). Write it with fewer layers (include_layers=…) or fewer tokens.`,
  );
}

function readFailure(file: string, error: unknown): AnalysisError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = (code && READ_FAILURES[code]) ?? messageOf(error);
  return new AnalysisError('invalid-document', `Could not read the attention file ${file}: ${reason}.`);
}

/** Reads a file's text: a regular file, within the size limit, UTF-8. */
async function readDocumentText(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    const stat = await fs.promises.stat(file);
    if (!stat.isFile()) throw new AnalysisError('invalid-document', `Could not read the attention file ${file}: it is not a regular file.`);
    if (stat.size > MAX_ATTENTION_TEXT_BYTES) throw tooLarge(`The attention file ${path.basename(file)}`, stat.size);
    bytes = await fs.promises.readFile(file);
  } catch (error) {
    throw error instanceof AnalysisError ? error : readFailure(file, error);
  }
  // It may have grown between the two calls.
  if (bytes.byteLength > MAX_ATTENTION_TEXT_BYTES) throw tooLarge(`The attention file ${path.basename(file)}`, bytes.byteLength);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new AnalysisError('invalid-document', `The attention file ${path.basename(file)} is not UTF-8 text (an attention file is JSON).`);
  }
}

/** Reads and checks the document, wherever it comes from. */
export async function readAttentionSource(source: AttentionSource): Promise<AttentionDocument> {
  let text: string | undefined;
  if (source.kind === 'file') text = await readDocumentText(source.path);
  else if (source.kind === 'text') {
    if (source.text.length > MAX_ATTENTION_TEXT_BYTES) throw tooLarge('This attention document', source.text.length);
    text = source.text;
  }
  try {
    return text === undefined
      ? readAttentionDocument(source.kind === 'document' ? source.document : undefined)
      : parseAttentionDocument(text);
  } catch (error) {
    if (error instanceof AttentionFileError) throw new AnalysisError('invalid-document', error.message);
    throw error;
  }
}

const quoted = (names: string[]) => names.map((name) => `"${name}"`).join(', ');

/**
 * The named self-attention of a document as an analysis (no prediction) and the attention the worker holds for it.
 * An unknown name or a cross-attention is refused, naming the self-attentions the document has.
 */
export function pickAttention(
  document: AttentionDocument,
  name: string,
  analysisId: string,
  documentName: string,
): { analysis: Analysis; held: HeldAttention } {
  const own = selfAttentions(document).map((maps) => maps.name);
  const offer = own.length > 0 ? `open ${quoted(own)}` : 'it has no self-attention the panel can show';
  const maps = document.attentions.find((candidate) => candidate.name === name);
  if (!maps) {
    throw new AnalysisError(
      'invalid-document',
      `This attention document has no attention named "${name}"; it has ${quoted(document.attentions.map((candidate) => candidate.name))} (${offer}).`,
    );
  }
  if (maps.queries !== maps.keys) {
    throw new AnalysisError(
      'invalid-document',
      `Attention "${name}" is cross-attention (the ${maps.queries.name} tokens attending to the ${maps.keys.name} tokens); the panel shows self-attention: ${offer}.`,
    );
  }
  const source: SourceRange = { documentName, documentUri: '', startLine: 0, startCharacter: 0, endLine: 0, endCharacter: 0 };
  try {
    return importedAnalysis(document, maps, analysisId, source);
  } catch (error) {
    throw error instanceof AttentionFileError ? new AnalysisError('invalid-document', error.message) : error;
  }
}

/** The bytes an attention holds (as the worker's tensor budget counts them). */
export function heldBytes(entry: HeldAttention): number {
  return entry.layers.reduce((sum, layer) => sum + layer.byteLength, 0);
}
