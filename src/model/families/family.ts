/**
 * The model-family seam: what a family module (`distilbert.ts`, `bert.ts`, `roberta.ts`, `gpt2.ts`, `llama.ts`) says about its models, so
 * that nothing outside it names that family's config keys, graph patterns or tensor names. Every module the analyzer,
 * the instrumentation and the layer chain use reads a model through an {@link FamilyConfig} and a
 * {@link GraphPattern}.
 */
import type { FamilyId, TaskId } from '../../shared/analysis';

export type { FamilyId, TaskId } from '../../shared/analysis';

/** A model's configuration in the one vocabulary the rest of the extension reads. */
export interface FamilyConfig {
  family: FamilyId;
  /** config.json's `model_type`, as written. */
  modelType: string;
  architectures: string[];
  layers: number;
  /** Attention (query) heads per layer. */
  heads: number;
  /** Key/value heads per layer: fewer than `heads` under grouped-query attention, else equal. */
  kvHeads: number;
  /** The width of one head's queries, keys and values. */
  headDim: number;
  /** A decoder language model: each position attends to itself and the positions before it only. */
  causal: boolean;
  /** The width of the hidden states between layers. */
  hidden: number;
  /** The feed-forward width. */
  intermediate: number;
  vocabSize: number;
  /** The most tokens the model reads at once, special tokens included. */
  maxTokens: number;
  /** The task heads' labels in logit order, as `id2label` names them (`LABEL_i` for an index it skips). */
  labels: string[];
  /** Why `id2label` cannot name the labels (not an object of strings), for the tasks that show them. */
  labelsProblem?: string;
  /** `multi_label_classification`: sigmoid per label instead of a softmax over them. */
  multiLabel: boolean;
  /** The tasks the model's architectures name, the default first. */
  tasks: TaskId[];
  /** `_name_or_path`, when the config has one. */
  name: string | undefined;
  /** Tokens that end a generated text (`eos_token_id`); none for an encoder. */
  stopTokenIds: number[];
  /** Built by `make-test-model`: random weights, meaningless predictions. */
  isTestModel: boolean;
}

/** One input of an export, and what it carries for a row of token ids. */
export interface GraphInput {
  /** The input's name; with `value: 'past'`, the prefix of every cached key and value (`past_key_values.`). */
  name: string;
  /**
   * `ids`: the token ids; `mask`: 1 for every token (cached ones included); `zeros`: a segment id of 0 for every
   * token; `positions`: each new token's position (after the cached ones); `past`: the key/value cache of earlier
   * tokens (zero-length for a fresh text); `cacheBranch`: whether a cache is fed (a merged decoder's `If`).
   */
  value: 'ids' | 'mask' | 'zeros' | 'positions' | 'past' | 'cacheBranch';
  /** Present in every export of the family (the instrumentation refuses a graph without it). */
  required: boolean;
}

/** How a family's exports look, for the instrumentation and the layer splitter. */
export interface GraphPattern {
  /** An encoder reads the whole text at once; a decoder reads a text after a key/value cache and predicts the next token. */
  kind: 'encoder' | 'decoder';
  /** "a BERT export": how messages name what was expected. */
  description: string;
  inputs: readonly GraphInput[];
  /**
   * Operators an export puts between the Q·Kᵀ product and the attention Softmax (masking and scaling), which the walk
   * back from the Softmax to the product passes through.
   */
  scorePath: ReadonlySet<string>;
}

export interface ModelFamily {
  readonly id: FamilyId;
  /** What people call it, for messages. */
  readonly displayName: string;
  /** The `model_type` values of config.json this family reads. */
  readonly modelTypes: readonly string[];
  readonly pattern: GraphPattern;
  /** Reads config.json in this family's key names; throws an `AnalysisError` naming what is missing. */
  readConfig(raw: Record<string, unknown>, file: string): FamilyConfig;
  /** The graph outputs a task's head may write, in the order to look for them. */
  outputsOf(task: TaskId): readonly string[];
  /** Whether the task's head reads the first token only (sequence classification on [CLS] or `<s>`). */
  headReadsFirstToken(task: TaskId): boolean;
}
