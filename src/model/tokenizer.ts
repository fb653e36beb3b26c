/**
 * The model's real tokenizer (a transformers.js `PreTrainedTokenizer` built from the folder's own files), with
 * character offsets for every token and the model's length limit applied.
 */
import * as transformers from '@huggingface/transformers';
import { env, PreTrainedTokenizer } from '@huggingface/transformers';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TokenRow } from '../shared/analysis';
import { AnalysisError, messageOf } from '../shared/errors';
import { TOKENIZER_FILES, type ModelSource } from './modelSource';
import { alignByteLevelTokens, type ByteLevelSteps } from './byteLevelOffsets';
import { alignTokens, type Alignment, type TokenizerSteps } from './offsets';

export interface TokenizedText {
  /** Every token the model reads, special tokens included, with offsets into the tokenized text. */
  tokens: TokenRow[];
  /** False when some offsets had to be widened (see `offsets.ts`). */
  exactOffsets: boolean;
  /** Present when the text had more tokens than the model reads; the model sees `[0, analysedEnd)` of it. */
  truncation?: { textTokens: number; keptTextTokens: number; analysedEnd: number };
}

/**
 * Points transformers.js's global environment at a hub, for the download. transformers.js reads `env` at load time,
 * and the worker loads one model at a time, so setting it right before each download is enough.
 */
export function configureTransformersEnv(source: Extract<ModelSource, { kind: 'hub' }>): string {
  env.useBrowserCache = false;
  env.allowLocalModels = false;
  env.allowRemoteModels = true;
  env.remoteHost = source.hubUrl.endsWith('/') ? source.hubUrl : `${source.hubUrl}/`;
  env.useFSCache = true;
  env.cacheDir = source.cacheDir;
  return source.modelId;
}

type TokenizerClass = new (tokenizerJson: object, tokenizerConfig: object) => PreTrainedTokenizer;

/**
 * The class `tokenizer_config.json` names, as `AutoTokenizer` picks it (`BertTokenizerFast` is `BertTokenizer`), or
 * the base class for a name transformers.js has no tokenizer of (as `AutoTokenizer` falls back).
 */
function tokenizerClassOf(config: Record<string, unknown>): TokenizerClass {
  const name = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : '';
  const named = Object.hasOwn(transformers, name) ? (transformers as Record<string, unknown>)[name] : undefined;
  return typeof named === 'function' && named.prototype instanceof PreTrainedTokenizer ? (named as TokenizerClass) : PreTrainedTokenizer;
}

/** One of the folder's tokenizer files, parsed; an {@link AnalysisError} naming the file when it cannot be used. */
async function readTokenizerFile(folder: string, file: string): Promise<Record<string, unknown>> {
  const filePath = path.join(folder, file);
  let text: string;
  try {
    text = await fs.promises.readFile(filePath, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new AnalysisError(
      'invalid-model',
      `Could not load the tokenizer from ${folder}: ${missing ? `${file} is missing` : `${file} cannot be read (${messageOf(error)})`}. The folder needs ${TOKENIZER_FILES.join(' and ')}.`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AnalysisError(
      'invalid-model',
      `Could not load the tokenizer from ${folder}: ${file} is not valid JSON (${messageOf(error)}).`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AnalysisError('invalid-model', `Could not load the tokenizer from ${folder}: ${file} does not hold a JSON object.`);
  }
  return parsed as Record<string, unknown>;
}

/** A tokenizer.json component's settings (`pre_tokenizer`, `post_processor`), as transformers.js keeps them. */
interface ComponentConfig {
  type?: string;
  add_prefix_space?: boolean;
  trim_offsets?: boolean;
  pretokenizers?: ComponentConfig[];
  processors?: ComponentConfig[];
}

/** A loaded component: its settings, and for a `Sequence` (Llama 3's and Qwen's Split + ByteLevel) its parts. */
interface LoadedComponent {
  config?: ComponentConfig;
  tokenizers?: LoadedComponent[];
  processors?: LoadedComponent[];
}

/** The component's settings and, for a `Sequence`, those of the components inside it. */
function flatten(config: ComponentConfig | undefined): ComponentConfig[] {
  if (!config) return [];
  return [config, ...(config.pretokenizers ?? []).flatMap(flatten), ...(config.processors ?? []).flatMap(flatten)];
}

/** The settings of a loaded component and of every part inside it (transformers.js keeps a Sequence's parts loaded). */
function settingsOf(component: LoadedComponent | null | undefined): ComponentConfig[] {
  if (!component) return [];
  return [
    ...flatten(component.config),
    ...(component.tokenizers ?? []).flatMap(settingsOf),
    ...(component.processors ?? []).flatMap(settingsOf),
  ];
}

/** How a byte-level tokenizer (RoBERTa, GPT-2) shapes offsets, or undefined for another kind (WordPiece). */
function byteLevelSettings(
  preTokenizer: LoadedComponent | null | undefined,
  postProcessor: LoadedComponent | null | undefined,
): Omit<ByteLevelSteps, 'normalize' | 'addedTokens'> | undefined {
  const byteLevel = settingsOf(preTokenizer).find((component) => component.type === 'ByteLevel');
  if (!byteLevel) return undefined;
  const trimming = settingsOf(postProcessor).find((component) => component.type === 'ByteLevel' || component.type === 'RobertaProcessing');
  return { addPrefixSpace: byteLevel.add_prefix_space === true, trimOffsets: trimming?.trim_offsets === true };
}

/** A loaded tokenizer that also reports offsets. */
export class OffsetTokenizer {
  private readonly align: (text: string, tokens: readonly string[]) => Alignment;

  private constructor(
    private readonly tokenizer: PreTrainedTokenizer,
    /** The model's own limit (its position embeddings), when it is known. */
    private readonly modelMaxTokens?: number,
  ) {
    const inner = tokenizer._tokenizer;
    const normalizer = inner.normalizer;
    const preTokenizer = inner.pre_tokenizer;
    const addedTokens = [...inner.get_added_tokens_decoder().values()]
      .filter((token) => !token.normalized)
      .map((token) => ({ content: token.content, lstrip: token.lstrip === true, rstrip: token.rstrip === true }));
    const normalize = (text: string) => (normalizer ? normalizer.normalize(text) : text);
    const byteLevel = byteLevelSettings(preTokenizer as unknown as LoadedComponent | null, inner.post_processor);
    if (byteLevel) {
      const steps: ByteLevelSteps = { normalize, addedTokens, ...byteLevel };
      this.align = (text, tokens) => alignByteLevelTokens(text, tokens, steps);
      return;
    }
    const model = inner.model as unknown as { unk_token?: string; config?: { continuing_subword_prefix?: string } };
    const steps: TokenizerSteps = {
      normalize,
      preTokenize: (text) => (preTokenizer ? preTokenizer.pre_tokenize_text(text, { section_index: 0 }) : [text]),
      addedTokens,
      unknownToken: model.unk_token ?? tokenizer.unk_token ?? '[UNK]',
      continuingPrefix: model.config?.continuing_subword_prefix ?? '##',
    };
    this.align = (text, tokens) => alignTokens(text, tokens, steps);
  }

  /**
   * Loads the tokenizer of a model folder from its own `tokenizer.json` and `tokenizer_config.json`, whatever the
   * folder is called: transformers.js's `from_pretrained` reads a name that is not a hub id (`my model`) relative to
   * the working directory. Throws an {@link AnalysisError} a person can act on.
   */
  static async load(source: Extract<ModelSource, { kind: 'folder' }>, modelMaxTokens?: number): Promise<OffsetTokenizer> {
    const [tokenizerJson, tokenizerConfig] = (await Promise.all(TOKENIZER_FILES.map((file) => readTokenizerFile(source.folder, file)))) as [
      Record<string, unknown>,
      Record<string, unknown>,
    ];
    try {
      const Tokenizer = tokenizerClassOf(tokenizerConfig);
      return new OffsetTokenizer(new Tokenizer(tokenizerJson, tokenizerConfig), modelMaxTokens);
    } catch (error) {
      throw new AnalysisError(
        'invalid-model',
        `Could not load the tokenizer from ${source.folder} (${messageOf(error)}). Its ${TOKENIZER_FILES.join(' and ')} are not a tokenizer transformers.js reads.`,
      );
    }
  }

  /** The most tokens the model reads, special tokens included: the tokenizer's limit, within the model's. */
  get maxTokens(): number {
    const fromConfig = Number(this.tokenizer.model_max_length);
    const declared = Number.isFinite(fromConfig) && fromConfig > 2 && fromConfig <= 1_000_000 ? fromConfig : 512;
    return this.modelMaxTokens !== undefined ? Math.min(declared, this.modelMaxTokens) : declared;
  }

  /** Tokenizes `text` as the model will read it: special tokens added, truncated to {@link maxTokens}. */
  tokenize(text: string): TokenizedText {
    const inner = this.tokenizer._tokenizer;
    const textTokens = inner.tokenize(text, { add_special_tokens: false });
    const specialCount = this.wrapWithSpecialTokens([]).length;
    const keep = Math.max(0, Math.min(textTokens.length, this.maxTokens - specialCount));
    const window = alignmentWindow(text, textTokens, keep, (prefix) => inner.tokenize(prefix, { add_special_tokens: false }));
    const alignment = this.align(text.slice(0, window.end), window.tokens);

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

  /** The id of the mask token ([MASK], `<mask>`), which occlusion puts in place of a token; undefined if there is none. */
  get maskTokenId(): number | undefined {
    const id = this.tokenizer.mask_token_id ?? this.tokenizer._tokenizer.token_to_id('[MASK]');
    return typeof id === 'number' && id >= 0 ? id : undefined;
  }

  /** The mask token as it is written in text (`[MASK]`, `<mask>`). */
  get maskToken(): string | undefined {
    const token = this.tokenizer.mask_token;
    return typeof token === 'string' && token.length > 0 ? token : undefined;
  }

  /** The text of token ids, special tokens left out (what an entity or a mask's candidate reads as). */
  decode(ids: readonly number[]): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: true });
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

/**
 * Tokens past the kept ones that a prefix must also tokenize to before its alignment is used: the text where the
 * prefix is cut (a word split in two) then lies well after the last kept token.
 */
const WINDOW_MARGIN_TOKENS = 16;

/**
 * The prefix of `text` whose alignment gives the first `keep` of its tokens `textTokens` their offsets: the
 * shortest tried (from the text's characters per token, doubling) whose own tokens start with the kept tokens and a
 * margin more, with those tokens; the whole text when no shorter prefix does. A long text is then aligned over what
 * the model reads, not over all of it.
 */
export function alignmentWindow(
  text: string,
  textTokens: readonly string[],
  keep: number,
  tokenizeText: (prefix: string) => string[],
): { end: number; tokens: readonly string[] } {
  const needed = keep + WINDOW_MARGIN_TOKENS;
  if (needed >= textTokens.length) return { end: text.length, tokens: textTokens };
  let end = Math.ceil((text.length / textTokens.length) * needed * 1.5);
  while (end < text.length) {
    const last = text.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) end += 1;
    const tokens = tokenizeText(text.slice(0, end));
    if (tokens.length >= needed && textTokens.slice(0, needed).every((token, index) => tokens[index] === token)) return { end, tokens };
    end *= 2;
  }
  return { end: text.length, tokens: textTokens };
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
