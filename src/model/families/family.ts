/**
 * The model-family seam: what a family module (`distilbert.ts`, `bert.ts`, `roberta.ts`) says about its models, so
 * that nothing outside it names that family's config keys, graph patterns or tensor names. Every module the analyzer,
 * the instrumentation and the layer chain use reads a model through an {@link EncoderConfig} and a
 * {@link GraphPattern}.
 */
import type { FamilyId, TaskId } from '../../shared/analysis';

export type { FamilyId, TaskId } from '../../shared/analysis';

/** A model's configuration in the one vocabulary the rest of the extension reads. */
export interface EncoderConfig {
  family: FamilyId;
  /** config.json's `model_type`, as written. */
  modelType: string;
  architectures: string[];
  layers: number;
  /** Attention heads per layer. */
  heads: number;
  /** The width of the hidden states between layers. */
  hidden: number;
  /** The feed-forward width. */
  intermediate: number;
  vocabSize: number;
  /** The most tokens the model reads at once, special tokens included. */
  maxTokens: number;
  /** The task heads' labels in logit order (`id2label`, or `LABEL_i`). */
  labels: string[];
  /** `multi_label_classification`: sigmoid per label instead of a softmax over them. */
  multiLabel: boolean;
  /** The tasks the model's architectures name, the default first. */
  tasks: TaskId[];
  /** `_name_or_path`, when the config has one. */
  name: string | undefined;
  /** Built by `make-test-model`: random weights, meaningless predictions. */
  isTestModel: boolean;
}

/** One input of an export, and what it carries for a row of token ids. */
export interface GraphInput {
  name: string;
  /** `ids`: the token ids; `mask`: 1 for every token; `zeros`: a segment id of 0 for every token. */
  value: 'ids' | 'mask' | 'zeros';
  /** Present in every export of the family (the instrumentation refuses a graph without it). */
  required: boolean;
}

/** How a family's exports look, for the instrumentation and the layer splitter. */
export interface GraphPattern {
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
  readConfig(raw: Record<string, unknown>, file: string): EncoderConfig;
  /** The graph outputs a task's head may write, in the order to look for them. */
  outputsOf(task: TaskId): readonly string[];
  /** Whether the task's head reads the first token only (sequence classification on [CLS] or `<s>`). */
  headReadsFirstToken(task: TaskId): boolean;
}
