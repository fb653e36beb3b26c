/**
 * The model's real tokenizer (transformers.js `AutoTokenizer`), with character offsets for every token and the
 * model's length limit applied.
 */
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import type { TokenRow } from '../shared/analysis';
import { AnalysisError } from '../shared/errors';
import type { ModelSource } from './modelSource';
import { alignTokens, type TokenizerSteps } from './offsets';
import * as path from 'node:path';

export interface TokenizedText {
  /** Every token the model reads, special tokens included, with offsets into the tokenized text. */
  tokens: TokenRow[];
  /** False when some offsets had to be widened (see `offsets.ts`). */
  exactOffsets: boolean;
  /** Present when the text had more tokens than the model reads; the model sees `[0, analysedEnd)` of it. */
  truncation?: { textTokens: number; keptTextTokens: number; analysedEnd: number };
}

/**
 * Points transformers.js's global environment at a model source. transformers.js reads `env` at load time, and
 * the worker loads one model at a time, so setting it right before each load is enough.
 */
export function configureTransformersEnv(source: ModelSource): string {
  env.useBrowserCache = false;
  if (source.kind === 'folder') {
    env.allowLocalModels = true;
    env.allowRemoteModels = false;
    env.localModelPath = path.dirname(source.folder) + path.sep;
    return path.basename(source.folder);
  }
  env.allowLocalModels = false;
  env.allowRemoteModels = true;
  env.remoteHost = source.hubUrl.endsWith('/') ? source.hubUrl : `${source.hubUrl}/`;
  env.useFSCache = true;
  env.cacheDir = source.cacheDir;
  return source.modelId;
}

/** A loaded tokenizer that also reports offsets. */
export class OffsetTokenizer {
  private readonly steps: TokenizerSteps;

  private constructor(private readonly tokenizer: PreTrainedTokenizer) {
    const inner = tokenizer._tokenizer;
    const normalizer = inner.normalizer;
    const preTokenizer = inner.pre_tokenizer;
    const addedTokens = [...inner.get_added_tokens_decoder().values()].filter((token) => !token.normalized).map((token) => token.content);
    const model = inner.model as unknown as { unk_token?: string; config?: { continuing_subword_prefix?: string } };
    this.steps = {
      normalize: (text) => (normalizer ? normalizer.normalize(text) : text),
      preTokenize: (text) => (preTokenizer ? preTokenizer.pre_tokenize_text(text, { section_index: 0 }) : [text]),
      addedTokens,
      unknownToken: model.unk_token ?? tokenizer.unk_token ?? '[UNK]',
      continuingPrefix: model.config?.continuing_subword_prefix ?? '##',
    };
  }

  /** Loads the tokenizer of a model source. Throws an {@link AnalysisError} a person can act on. */
  static async load(source: ModelSource): Promise<OffsetTokenizer> {
    const modelId = configureTransformersEnv(source);
    try {
      const tokenizer = await AutoTokenizer.from_pretrained(modelId, source.kind === 'hub' ? { revision: source.revision } : {});
      return new OffsetTokenizer(tokenizer);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (source.kind === 'folder') {
        throw new AnalysisError(
          'invalid-model',
          `Could not load the tokenizer from ${source.folder} (${reason}). The folder needs tokenizer.json and tokenizer_config.json.`,
        );
      }
      throw new AnalysisError(
        'model-unavailable',
        `Could not download the tokenizer of ${source.modelId} from ${source.hubUrl} (${reason}).`,
      );
    }
  }

  /** The most tokens the model reads, special tokens included. */
  get maxTokens(): number {
    const fromConfig = Number(this.tokenizer.model_max_length);
    return Number.isFinite(fromConfig) && fromConfig > 2 && fromConfig <= 1_000_000 ? fromConfig : 512;
  }

  /** Tokenizes `text` as the model will read it: special tokens added, truncated to {@link maxTokens}. */
  tokenize(text: string): TokenizedText {
    const inner = this.tokenizer._tokenizer;
    const textTokens = inner.tokenize(text, { add_special_tokens: false });
    const alignment = alignTokens(text, textTokens, this.steps);

    const specialCount = this.wrapWithSpecialTokens([]).length;
    const keep = Math.max(0, Math.min(textTokens.length, this.maxTokens - specialCount));
    const kept = textTokens.slice(0, keep);
    // The post-processor wraps the text tokens (BERT: [CLS] … [SEP]); find where they sit in its output.
    const processed = this.wrapWithSpecialTokens(kept);
    const tokens: TokenRow[] = processed.map((entry) => {
      if (entry.textIndex === undefined) {
        return { id: this.idOf(entry.token), text: entry.token, start: 0, end: 0, special: true };
      }
      const span = alignment.spans[entry.textIndex] ?? { start: 0, end: 0 };
      return { id: this.idOf(entry.token), text: entry.token, start: span.start, end: span.end, special: false };
    });

    const result: TokenizedText = { tokens, exactOffsets: alignment.exact };
    if (keep < textTokens.length) {
      const lastKept = alignment.spans[keep - 1];
      result.truncation = { textTokens: textTokens.length, keptTextTokens: keep, analysedEnd: lastKept ? lastKept.end : 0 };
    }
    return result;
  }

  /** The id of the mask token ([MASK]), which occlusion puts in place of a token; undefined if the vocabulary has none. */
  get maskTokenId(): number | undefined {
    const id = this.tokenizer.mask_token_id ?? this.tokenizer._tokenizer.token_to_id('[MASK]');
    return typeof id === 'number' && id >= 0 ? id : undefined;
  }

  private idOf(token: string): number {
    return this.tokenizer._tokenizer.token_to_id(token) ?? this.tokenizer.unk_token_id;
  }

  /** Runs the tokenizer's post-processor on text tokens and marks which outputs came from the text. */
  private wrapWithSpecialTokens(textTokens: readonly string[]): Array<{ token: string; textIndex?: number }> {
    const postProcessor = this.tokenizer._tokenizer.post_processor;
    if (!postProcessor) {
      return textTokens.map((token, textIndex) => ({ token, textIndex }));
    }
    const { tokens } = postProcessor.post_process([...textTokens], null, { add_special_tokens: true });
    // BERT's template is [CLS] $A [SEP]: the text tokens are one contiguous run inside the output.
    const offset = findRun(tokens, textTokens);
    return tokens.map((token, index) =>
      index >= offset && index < offset + textTokens.length ? { token, textIndex: index - offset } : { token },
    );
  }
}

function findRun(haystack: readonly string[], run: readonly string[]): number {
  if (run.length === 0) {
    return haystack.length;
  }
  for (let start = 0; start + run.length <= haystack.length; start += 1) {
    if (run.every((token, index) => haystack[start + index] === token)) {
      return start;
    }
  }
  throw new AnalysisError('invalid-model', "The tokenizer's post-processor reorders tokens; this model is not supported.");
}
