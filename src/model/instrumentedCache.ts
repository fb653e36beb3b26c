/**
 * Instrumented graphs are built once per model file and kept beside the original (`model.attention-explorer-v6.onnx`
 * with a small sidecar describing the original it came from); when that folder is read-only they go under the
 * extension's storage instead. A changed original (size or modification time) is instrumented again.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AnalysisError } from '../shared/errors';
import { writeAtomically } from './atomicFile';
import type { GraphPattern } from './families';
import {
  INSTRUMENTATION_VERSION,
  InstrumentationError,
  instrumentModel,
  type InstrumentationResult,
  type InstrumentOptions,
  type ScoreStep,
} from './onnx/instrument';
import { instrumentDecoderModel, type DecoderGraphStyle, type DecoderInstrumentationResult } from './onnx/instrumentDecoder';

export interface InstrumentedModel {
  path: string;
  quantized: boolean;
  /** See {@link InstrumentationResult.queryScaledBeforeProduct}. */
  queryScaledBeforeProduct?: boolean;
  /** A decoder's attention style. */
  style?: DecoderGraphStyle;
  /** See {@link InstrumentationResult.scoreSteps}: present when the graph returns queries and keys, not maps. */
  scoreSteps?: ScoreStep[];
  /** Whether this call built it (rather than finding it cached). */
  built: boolean;
}

interface Sidecar {
  version: number;
  sourceSize: number;
  sourceMtimeMs: number;
  layers: number;
  heads: number;
  quantized: boolean;
  queryScaledBeforeProduct?: boolean;
  style?: DecoderGraphStyle;
  scoreSteps?: ScoreStep[];
}

function candidates(onnxPath: string, storageDir: string, options: InstrumentOptions): string[] {
  const variant = `v${INSTRUMENTATION_VERSION}${options.headMask ? '-head-mask' : ''}${options.outputs === 'operands' ? '-operands' : ''}`;
  const beside = onnxPath.replace(/\.onnx$/, `.attention-explorer-${variant}.onnx`);
  const key = createHash('sha256').update(path.resolve(onnxPath)).digest('hex').slice(0, 24);
  return [beside, path.join(storageDir, 'instrumented', `${key}-${variant}.onnx`)];
}

function readSidecar(file: string): Sidecar | undefined {
  try {
    return JSON.parse(fs.readFileSync(`${file}.json`, 'utf8')) as Sidecar;
  } catch {
    return undefined;
  }
}

/**
 * A model file's bytes instrumented for its family's graph pattern; a graph that cannot be is an invalid model, and
 * the message says why (`file` names it).
 */
export function instrumentBytes(
  bytes: Uint8Array,
  expected: { layers: number; heads: number },
  pattern: GraphPattern,
  options: InstrumentOptions,
  file: string,
): InstrumentationResult | DecoderInstrumentationResult {
  try {
    return pattern.kind === 'decoder'
      ? instrumentDecoderModel(bytes, expected, pattern, options)
      : instrumentModel(bytes, expected, pattern, options);
  } catch (error) {
    if (error instanceof InstrumentationError) throw new AnalysisError('invalid-model', `${file} cannot be instrumented: ${error.message}`);
    throw error;
  }
}

/**
 * The instrumented graph of a model file, built once and cached. Analyses use the graph without a head mask (cheaper);
 * interventions (ablation, the head sweep, occlusion) the one with it, built only when first asked for.
 */
export function instrumentedModelFor(
  onnxPath: string,
  expected: { layers: number; heads: number },
  pattern: GraphPattern,
  storageDir: string,
  options: InstrumentOptions,
): InstrumentedModel {
  const source = fs.statSync(onnxPath);
  const wanted = (sidecar: Sidecar | undefined) =>
    sidecar?.version === INSTRUMENTATION_VERSION &&
    sidecar.sourceSize === source.size &&
    sidecar.sourceMtimeMs === source.mtimeMs &&
    sidecar.layers === expected.layers &&
    sidecar.heads === expected.heads;
  for (const candidate of candidates(onnxPath, storageDir, options)) {
    const sidecar = readSidecar(candidate);
    if (wanted(sidecar) && fs.existsSync(candidate)) {
      return {
        path: candidate,
        quantized: sidecar!.quantized,
        ...(sidecar!.queryScaledBeforeProduct !== undefined ? { queryScaledBeforeProduct: sidecar!.queryScaledBeforeProduct } : {}),
        ...(sidecar!.style ? { style: sidecar!.style } : {}),
        ...(sidecar!.scoreSteps ? { scoreSteps: sidecar!.scoreSteps } : {}),
        built: false,
      };
    }
  }
  const result = instrumentBytes(fs.readFileSync(onnxPath), expected, pattern, options, path.basename(onnxPath));
  const sidecar: Sidecar = {
    version: INSTRUMENTATION_VERSION,
    sourceSize: source.size,
    sourceMtimeMs: source.mtimeMs,
    ...expected,
    quantized: result.quantized,
    ...(result.queryScaledBeforeProduct !== undefined ? { queryScaledBeforeProduct: result.queryScaledBeforeProduct } : {}),
    ...('style' in result ? { style: result.style } : {}),
    ...(result.scoreSteps ? { scoreSteps: result.scoreSteps } : {}),
  };
  let lastError: unknown;
  for (const candidate of candidates(onnxPath, storageDir, options)) {
    try {
      writeAtomically(candidate, result.bytes);
      writeAtomically(`${candidate}.json`, JSON.stringify(sidecar));
      return {
        path: candidate,
        quantized: result.quantized,
        ...(sidecar.queryScaledBeforeProduct !== undefined ? { queryScaledBeforeProduct: sidecar.queryScaledBeforeProduct } : {}),
        ...(sidecar.style ? { style: sidecar.style } : {}),
        ...(sidecar.scoreSteps ? { scoreSteps: sidecar.scoreSteps } : {}),
        built: true,
      };
    } catch (error) {
      lastError = error; // read-only model folder: try the storage folder
    }
  }
  throw new AnalysisError(
    'internal',
    `Could not write the instrumented model (${lastError instanceof Error ? lastError.message : String(lastError)}).`,
  );
}
