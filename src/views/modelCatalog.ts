/**
 * The short list Select Model offers per task: transformers.js exports on the hub of models people use, with what a
 * reader needs to choose (family, size of the fp32 and q8 files, licence of the original model). Sizes are the hub's
 * file sizes; "see the model card" where the original states no licence we could confirm.
 */
import type { FamilyId, TaskId } from '../shared/analysis';

export interface CatalogModel {
  id: string;
  task: TaskId;
  family: FamilyId;
  /** What it is, in a few words. */
  about: string;
  /** onnx/model.onnx and onnx/model_quantized.onnx, in MB. */
  sizeMb: { fp32: number; q8: number };
  licence: string;
}

export const MODEL_CATALOG: readonly CatalogModel[] = [
  {
    id: 'Xenova/distilbert-base-uncased-finetuned-sst-2-english',
    task: 'text-classification',
    family: 'distilbert',
    about: 'English sentiment (SST-2): NEGATIVE / POSITIVE',
    sizeMb: { fp32: 268, q8: 68 },
    licence: 'Apache-2.0',
  },
  {
    id: 'Xenova/bert-base-multilingual-uncased-sentiment',
    task: 'text-classification',
    family: 'bert',
    about: 'Product-review stars (1–5) in six languages',
    sizeMb: { fp32: 670, q8: 169 },
    licence: 'MIT',
  },
  {
    id: 'Xenova/twitter-roberta-base-sentiment-latest',
    task: 'text-classification',
    family: 'roberta',
    about: 'Tweet sentiment: negative / neutral / positive',
    sizeMb: { fp32: 499, q8: 126 },
    licence: 'see the model card',
  },
  {
    id: 'Xenova/bert-base-NER',
    task: 'token-classification',
    family: 'bert',
    about: 'Named entities (CoNLL-2003): PER, ORG, LOC, MISC',
    sizeMb: { fp32: 431, q8: 109 },
    licence: 'MIT',
  },
  {
    id: 'Xenova/bert-base-uncased',
    task: 'fill-mask',
    family: 'bert',
    about: 'The original BERT: predicts [MASK]',
    sizeMb: { fp32: 438, q8: 111 },
    licence: 'Apache-2.0',
  },
  {
    id: 'Xenova/roberta-base',
    task: 'fill-mask',
    family: 'roberta',
    about: 'RoBERTa: predicts <mask>',
    sizeMb: { fp32: 499, q8: 126 },
    licence: 'MIT',
  },
  {
    id: 'Xenova/distilroberta-base',
    task: 'fill-mask',
    family: 'roberta',
    about: 'A smaller RoBERTa (6 layers): predicts <mask>',
    sizeMb: { fp32: 329, q8: 83 },
    licence: 'Apache-2.0',
  },
  {
    id: 'Xenova/all-MiniLM-L6-v2',
    task: 'feature-extraction',
    family: 'bert',
    about: 'Sentence embeddings (sentence-transformers, 6 layers)',
    sizeMb: { fp32: 90, q8: 23 },
    licence: 'Apache-2.0',
  },
];
