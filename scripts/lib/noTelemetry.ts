/**
 * Imported first by the command-line entry points that load onnxruntime in their own process (analyze, bench), so
 * that the variable is set before the native library reads it. See src/model/telemetry.ts.
 */
import { disableOnnxRuntimeTelemetry } from '../../src/model/telemetry';

disableOnnxRuntimeTelemetry();
