/**
 * The onnxruntime session options model graphs are opened with, in one place.
 */
import type * as ort from 'onnxruntime-node';

/**
 * Encoders (and their layer chain): onnxruntime's defaults, weight prepacking included. Without it a full-size
 * DistilBERT analysis of 8 tokens measured 1.8 × slower (small products gain most from packed weights); with it each
 * MatMul weight is held twice, which for a 255 MB encoder is affordable.
 */
export const MODEL_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
};

/**
 * Decoders: without prepacking, which kept a second copy of every MatMul weight (the Qwen2.5-0.5B-shaped fp32 model,
 * 1.9 GB of weights: 3.5 GB resident after load with it, 2.5 GB without; its forward at 128 and 512 tokens no slower).
 * Sessions cannot share initializers through the Node binding, so each copy a session does not make is one a loaded
 * model does not cost. And without the CPU arena: an analysis runs up to 2048 tokens, whose intermediates (the
 * unfused attention's n² tensors, the logits of every position) peak at several GB, which the arena keeps after the
 * run (11.4 GB resident after one 2048-token forward, against 4.1 GB without; with it, the decoder benchmark's process,
 * holding this session and transformers.js's, was killed for want of memory on a 24 GB machine). It costs speed:
 * analyses measured 1.5–2.8 × the plain forward, which keeps its arena.
 */
export const DECODER_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  ...MODEL_SESSION_OPTIONS,
  enableCpuMemArena: false,
  extra: { session: { disable_prepacking: '1' } },
};
