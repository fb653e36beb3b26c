/**
 * The product model's tokenizer as the extension loads it, beside transformers.js's own tokenizer of the same
 * folder, which tests use as the independent reference.
 */
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import * as path from 'node:path';
import { OffsetTokenizer } from '../../src/model/tokenizer';
import { sharedTokenizerDir } from './paths';
import type { OffsetCheckTokenizer } from './tokenizerChecks';

export async function loadSharedTokenizers(): Promise<{ tokenizer: OffsetTokenizer; reference: PreTrainedTokenizer }> {
  const tokenizer = await OffsetTokenizer.load({ kind: 'folder', folder: sharedTokenizerDir });
  env.allowRemoteModels = false;
  env.localModelPath = path.dirname(sharedTokenizerDir) + path.sep;
  const reference = await AutoTokenizer.from_pretrained(path.basename(sharedTokenizerDir));
  return { tokenizer, reference };
}

/** The reference's ids for `text`, its special tokens included. */
export function referenceIds(
  reference: PreTrainedTokenizer,
  text: string,
  options: { truncation?: boolean; max_length?: number } = {},
): number[] {
  return Array.from(reference(text, options).input_ids.data as BigInt64Array, Number);
}

/** The reference's normalizer and tokens, for {@link offsetViolations}. */
export function referenceChecker(reference: PreTrainedTokenizer): OffsetCheckTokenizer {
  return {
    normalize: (text) => reference._tokenizer.normalizer?.normalize(text) ?? text,
    tokenizeText: (text) => reference.tokenize(text),
  };
}
