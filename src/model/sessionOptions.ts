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
 * model does not cost. The CPU arena stays: without it the same model's analysis measured 1.6–2.8 × the plain forward
 * instead of about 1.1 × (fresh memory for every large intermediate), although with it onnxruntime keeps a long
 * forward's peak after the run (11.4 GB resident after one 2048-token forward, against 4.1 GB without), as the plain
 * forward does; the Node binding cannot ask a run to shrink the arena afterwards.
 */
export const DECODER_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  ...MODEL_SESSION_OPTIONS,
  extra: { session: { disable_prepacking: '1' } },
};
