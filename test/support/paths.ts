/**
 * Where tests find what the project does not commit: the shared tokenizer and goldens beside the repository.
 */
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');

/** `../shared` beside the repository, or `$ATTN_SHARED_DIR`. */
export const sharedDir = process.env.ATTN_SHARED_DIR ?? path.resolve(repoRoot, '..', 'shared');

/** The real tokenizer and config of the product's model (no weights). */
export const sharedTokenizerDir = path.join(sharedDir, 'models', 'distilbert-sst2-tokenizer');

/** The Python the tests run (`npm test` picks one with NumPy: scripts/lib/tools.ts ensurePython). */
export const pythonCommand = process.env.ATTN_PYTHON ?? 'python3';
