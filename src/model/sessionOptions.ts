/**
 * The onnxruntime session options every model graph is opened with, in one place.
 *
 * Prepacking is off: onnxruntime otherwise keeps a second, repacked copy of each MatMul weight beside the original
 * (measured on the Qwen2.5-0.5B-shaped fp32 model, 1.9 GB of weights: 3.5 GB resident after load with it, 2.5 GB
 * without, and the forward at 128 and 512 tokens no slower). Sessions cannot share initializers through the Node
 * binding, so each copy a session does not make is one a loaded model does not cost.
 */
import type * as ort from 'onnxruntime-node';

export const MODEL_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
  extra: { session: { disable_prepacking: '1' } },
};

/**
 * A decoder's analysis runs up to 2048 tokens, whose intermediates (the unfused attention's n² tensors, the logits of
 * every position) peak at several GB: onnxruntime's CPU arena would keep all of it after the run (11.4 GB resident
 * after one 2048-token forward, against 4.1 GB without the arena).
 */
export const DECODER_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { ...MODEL_SESSION_OPTIONS, enableCpuMemArena: false };
