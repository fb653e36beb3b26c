/**
 * The sizes of the decoder test models: `tiny` (checked against a float64 reference; head size 16, the smallest
 * onnxruntime's fused rotary accepts) and `full` (real shapes, for benchmarks: GPT-2 small, SmolLM2-135M for
 * Llama, Qwen2.5-0.5B, Qwen3-0.6B).
 */
import type { DecoderFamilyId } from '../../../src/shared/analysis';
import type { Llama3RopeScaling } from '../../../src/reference/rope';
import type { TestModelSize } from './encoderShapes';

/** How the attention of an export is written: primitive ops (optimum), or onnxruntime-genai's fused operators. */
export type AttentionStyle = 'unfused' | 'fused';
export const ATTENTION_STYLES: readonly AttentionStyle[] = ['unfused', 'fused'];

export interface DecoderSizes {
  layers: number;
  /** Query heads. */
  heads: number;
  /** Key/value heads (grouped-query attention when fewer than `heads`). */
  kvHeads: number;
  headDim: number;
  hidden: number;
  intermediate: number;
  maxPositions: number;
  /** Standard deviation of the random linear weights. */
  weightStd: number;
  ropeTheta: number;
  ropeScaling?: Llama3RopeScaling;
  normEps: number;
}

export const DECODER_SIZES: Record<DecoderFamilyId, Record<TestModelSize, DecoderSizes>> = {
  gpt2: {
    tiny: {
      layers: 2,
      heads: 4,
      kvHeads: 4,
      headDim: 8,
      hidden: 32,
      intermediate: 128,
      maxPositions: 1024,
      weightStd: 0.2,
      ropeTheta: 0,
      normEps: 1e-5,
    },
    full: {
      layers: 12,
      heads: 12,
      kvHeads: 12,
      headDim: 64,
      hidden: 768,
      intermediate: 3072,
      maxPositions: 1024,
      weightStd: 0.02,
      ropeTheta: 0,
      normEps: 1e-5,
    },
  },
  llama: {
    tiny: {
      layers: 2,
      heads: 4,
      kvHeads: 2,
      headDim: 16,
      hidden: 64,
      intermediate: 128,
      maxPositions: 8192,
      weightStd: 0.2,
      ropeTheta: 500000,
      // Llama 3.2's scaling: low frequencies slowed down, so the test sees it.
      ropeScaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
      normEps: 1e-5,
    },
    full: {
      layers: 30,
      heads: 9,
      kvHeads: 3,
      headDim: 64,
      hidden: 576,
      intermediate: 1536,
      maxPositions: 8192,
      weightStd: 0.02,
      ropeTheta: 100000,
      normEps: 1e-5,
    },
  },
  qwen2: {
    tiny: {
      layers: 2,
      heads: 4,
      kvHeads: 2,
      headDim: 16,
      hidden: 64,
      intermediate: 128,
      maxPositions: 32768,
      weightStd: 0.2,
      ropeTheta: 1000000,
      normEps: 1e-6,
    },
    full: {
      layers: 24,
      heads: 14,
      kvHeads: 2,
      headDim: 64,
      hidden: 896,
      intermediate: 4864,
      maxPositions: 32768,
      weightStd: 0.02,
      ropeTheta: 1000000,
      normEps: 1e-6,
    },
  },
  qwen3: {
    // head_dim is its own key in Qwen3 (128 for 0.6B, with hidden 1024 and 16 heads): 48 ≠ 4 × 16 here too.
    tiny: {
      layers: 2,
      heads: 4,
      kvHeads: 2,
      headDim: 16,
      hidden: 48,
      intermediate: 96,
      maxPositions: 40960,
      weightStd: 0.2,
      ropeTheta: 1000000,
      normEps: 1e-6,
    },
    full: {
      layers: 28,
      heads: 16,
      kvHeads: 8,
      headDim: 128,
      hidden: 1024,
      intermediate: 3072,
      maxPositions: 40960,
      weightStd: 0.02,
      ropeTheta: 1000000,
      normEps: 1e-6,
    },
  },
};
