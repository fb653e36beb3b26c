/**
 * What the extension-host suite needs from outside the extension: the shared tokenizer and a project-built test
 * model (built on first use). One definition for `npm run test:extension` and for the launch configuration a
 * contributor starts with F5 (`npm run test:prepare` writes it to dist/test/suite.env for `envFile`).
 */
import { sharedTokenizerDir } from '../../test/support/paths';
import { ensureTestModel } from '../../test/support/testModels';

export function extensionSuiteEnv(): Record<string, string> {
  return {
    ATTN_TOKENIZER_DIR: sharedTokenizerDir,
    ATTN_TEST_MODEL_DIR: ensureTestModel('tiny'),
    // The other families' tasks the editor shows differently: entities, masks, another label set.
    ATTN_TEST_MODEL_BERT_NER: ensureTestModel('tiny', 42, ['fp32', 'q8'], { family: 'bert', task: 'token-classification' }),
    ATTN_TEST_MODEL_BERT_MLM: ensureTestModel('tiny', 42, ['fp32', 'q8'], { family: 'bert', task: 'fill-mask' }),
    ATTN_TEST_MODEL_ROBERTA_CLS: ensureTestModel('tiny', 42, ['fp32', 'q8'], { family: 'roberta', task: 'text-classification' }),
    ATTN_TEST_MODEL_QWEN3: ensureTestModel('tiny', 42, ['fp32'], { family: 'qwen3', attention: 'unfused' }),
    // Long inputs at full size: Qwen2.5-0.5B's shape with random weights (the benchmark's model, seed 7).
    ATTN_TEST_MODEL_QWEN2_FULL: ensureTestModel('full', 7, ['fp32'], { family: 'qwen2', attention: 'unfused' }),
  };
}
