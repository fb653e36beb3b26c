/**
 * onnxruntime-node (1.29 and later) ships telemetry on Linux and macOS too: it writes a device id and an event store
 * under `$XDG_CACHE_HOME/Microsoft/DeveloperTools/.onnxruntime` and uploads to Microsoft unless ORT_DISABLE_TELEMETRY
 * is set. Attention Explorer sends nothing anywhere, so it sets the variable before onnxruntime loads.
 *
 * It must be the process's real environment (the native library reads it with getenv): a worker thread's
 * `process.env` is a per-thread copy, so the thread that starts the worker sets it. That is the extension host, shared
 * with other extensions: for any of them that load onnxruntime in the same process, the effect is the same.
 */
export const ONNX_TELEMETRY_VARIABLE = 'ORT_DISABLE_TELEMETRY';

export function disableOnnxRuntimeTelemetry(): void {
  process.env[ONNX_TELEMETRY_VARIABLE] = '1';
}
