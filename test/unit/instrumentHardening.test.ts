/**
 * Hostile graphs against the ONNX instrumentation (issue 18): a graph of thousands of Softmax → MatMul pairs, claims
 * of more layers or heads than any model has, tensors whose bytes live in an external file, and seeded random
 * mutations of the tiny test models' graphs. Each must end in an instrumented graph onnxruntime loads or in an
 * invalid-model refusal that says why, quickly.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { distilbert } from '../../src/model/families/distilbert';
import { gpt2 } from '../../src/model/families/gpt2';
import { readModelConfig } from '../../src/model/families';
import { instrumentedModelFor } from '../../src/model/instrumentedCache';
import { DataType, decodeModel, encodeModel, node, onnx, valueInfo } from '../../src/model/onnx/graph';
import { InstrumentationError, instrumentModel } from '../../src/model/onnx/instrument';
import { instrumentDecoderModel } from '../../src/model/onnx/instrumentDecoder';
import { AnalysisError } from '../../src/shared/errors';
import { recordCase } from '../support/reliability';
import { ensureTestModel } from '../support/testModels';

/** Only a guard against a hang: the hostile graph instruments (or is refused) in well under a second. */
const HANG_GUARD_MS = 10_000;

/**
 * `pairs` Softmax → MatMul pairs in a chain (about 0.9 MB for 8000): every Softmax feeds a product, so each looks like
 * an attention Softmax. With `pastLayers`, the key/value cache inputs of a decoder with that many layers.
 */
function hostileGraph(pairs: number, pastLayers?: number): Uint8Array {
  const nodes = [];
  let hidden = 'input_ids';
  for (let pair = 0; pair < pairs; pair += 1) {
    nodes.push(node('Softmax', [hidden], [`probs.${pair}`], `Softmax_${pair}`, { axis: -1 }));
    nodes.push(node('MatMul', [`probs.${pair}`, 'attention_mask'], [`hidden.${pair}`], `MatMul_${pair}`));
    hidden = `hidden.${pair}`;
  }
  nodes.push(node('Identity', [hidden], ['logits'], 'Output'));
  const shape = [1, 2, 4, 4];
  const inputs = [valueInfo('input_ids', DataType.FLOAT, shape), valueInfo('attention_mask', DataType.FLOAT, shape)];
  for (let layer = 0; layer < (pastLayers ?? 0); layer += 1) {
    for (const part of ['key', 'value']) inputs.push(valueInfo(`past_key_values.${layer}.${part}`, DataType.FLOAT, [1, 2, 0, 4]));
  }
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'hostile', node: nodes, input: inputs, output: [valueInfo('logits', DataType.FLOAT, shape)] },
  });
}

/** Runs `run`, returning what it threw (undefined if nothing) and how long it took. */
function timed(run: () => unknown): { error: unknown; ms: number } {
  const started = performance.now();
  try {
    run();
    return { error: undefined, ms: performance.now() - started };
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
}

describe('issue 18 #13: instrumentation cost on a graph of 8000 Softmax → MatMul pairs', () => {
  const encoderGraph = hostileGraph(8000);

  it('refuses a claim of more layers or heads than the caps, naming the value and the cap, at once', () => {
    const decoderGraph = hostileGraph(8000, 8000);
    const claims = [
      () => instrumentModel(encoderGraph, { layers: 8000, heads: 2 }, distilbert.pattern, { headMask: true }),
      () => instrumentDecoderModel(decoderGraph, { layers: 8000, heads: 2 }, gpt2.pattern, { headMask: true }),
    ];
    for (const claim of claims) {
      const { error, ms } = timed(claim);
      expect(error).toBeInstanceOf(InstrumentationError);
      expect((error as Error).message).toMatch(/8000 layers.*at most 256/);
      expect(ms).toBeLessThan(HANG_GUARD_MS);
    }
    const heads = timed(() => instrumentModel(hostileGraph(6), { layers: 6, heads: 1000 }, distilbert.pattern, { headMask: true }));
    expect((heads.error as Error).message).toMatch(/1000 heads.*at most 256/);

    // The same caps where the claim comes from: config.json.
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-caps-'));
    const config = path.join(folder, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ model_type: 'gpt2', n_embd: 8, n_head: 2, n_layer: 8000, n_positions: 64, vocab_size: 10 }));
    expect(() => readModelConfig(config)).toThrow(AnalysisError);
    expect(() => readModelConfig(config)).toThrow(/n_layer \(a whole number from 1 to 256; it has 8000\)/);
    fs.writeFileSync(
      config,
      JSON.stringify({ model_type: 'gpt2', n_embd: 8000, n_head: 1000, n_layer: 2, n_positions: 64, vocab_size: 10 }),
    );
    expect(() => readModelConfig(config)).toThrow(/n_head \(a whole number from 1 to 256; it has 1000\)/);
    fs.rmSync(folder, { recursive: true, force: true });
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: 'a model claiming 8000 layers (config.json, or a caller of the instrumentation) over a graph of 8000 Softmax → MatMul pairs; 1000 heads',
      outcome:
        'refused at once naming the value and the cap of 256 layers / 256 heads (before: the graph was instrumented, 15 s of blocked worker)',
    });
  });

  it('refuses the 8000-pair graph for a 6-layer encoder or decoder with the Softmax count it found', () => {
    for (const claim of [
      () => instrumentModel(encoderGraph, { layers: 6, heads: 2 }, distilbert.pattern, { headMask: false }),
      () => instrumentDecoderModel(hostileGraph(8000, 6), { layers: 6, heads: 2 }, gpt2.pattern, { headMask: false }),
    ]) {
      const { error, ms } = timed(claim);
      expect(error).toBeInstanceOf(InstrumentationError);
      expect((error as Error).message).toMatch(/Found 8000 Softmax node\(s\) where .* with 6 layers/);
      expect(ms).toBeLessThan(HANG_GUARD_MS);
    }
  });

  it('instruments 256 attention pairs (the cap) as encoder and decoder, every layer tapped', () => {
    const encoder = instrumentModel(hostileGraph(256), { layers: 256, heads: 2 }, distilbert.pattern, { headMask: true });
    expect(encoder.softmaxNodes).toHaveLength(256);
    const decoder = instrumentDecoderModel(hostileGraph(256, 256), { layers: 256, heads: 2 }, gpt2.pattern, { headMask: true });
    expect(decoder.softmaxNodes).toHaveLength(256);
    expect(decoder.style).toBe('unfused');
    recordCase({
      layer: 'unit',
      area: 'Load',
      case: 'instrumenting a 0.9 MB graph of 8000 Softmax → MatMul pairs claimed as 6 layers (encoder and decoder); 256 pairs claimed as 256 layers',
      outcome:
        'refused with the Softmax count found / instrumented, each in well under a second (one index of producers and consumers; before: the decoder refusal took 6 s)',
    });
  });
});

/** A test model's graph, changed by `mutate`, written as `model.onnx` in a fresh folder; returns its path. */
function mutatedCopy(source: string, mutate: (model: onnx.ModelProto) => void): string {
  const model = decodeModel(fs.readFileSync(source));
  mutate(model);
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-mutated-'));
  const file = path.join(folder, 'model.onnx');
  fs.writeFileSync(file, encodeModel(model));
  return file;
}

/** Moves `tensor`'s bytes "out" to `location`, the way an external-data export describes them. */
function externalise(tensor: onnx.ITensorProto, location: string): void {
  const length = tensor.rawData?.byteLength ?? 0;
  tensor.rawData = new Uint8Array();
  tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  tensor.externalData = [
    { key: 'location', value: location },
    { key: 'offset', value: '0' },
    { key: 'length', value: String(length) },
  ];
}

describe('issue 18: tensors whose bytes are in an external file', () => {
  const LOCATION = '../../etc/passwd';
  const largest = (model: onnx.ModelProto) =>
    model.graph!.initializer!.reduce((best, tensor) =>
      (tensor.rawData?.byteLength ?? 0) > (best.rawData?.byteLength ?? 0) ? tensor : best,
    );

  /** Instruments `file` the way an analysis does; returns the error, and whether anything was written beside it. */
  const instrumentAsAnalysis = (file: string, family: 'distilbert' | 'gpt2') => {
    const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-storage-'));
    const before = fs.readdirSync(path.dirname(file));
    let error: unknown;
    try {
      instrumentedModelFor(file, { layers: 2, heads: 4 }, (family === 'gpt2' ? gpt2 : distilbert).pattern, storageDir, { headMask: false });
    } catch (caught) {
      error = caught;
    }
    const written = [...fs.readdirSync(path.dirname(file)).filter((name) => !before.includes(name)), ...fs.readdirSync(storageDir)];
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    fs.rmSync(storageDir, { recursive: true, force: true });
    return { error, written };
  };

  it('refuses an initializer with data_location EXTERNAL (location ../../etc/passwd), encoder and decoder, writing nothing', () => {
    const encoder = path.join(ensureTestModel('tiny', 42, ['fp32']), 'onnx', 'model.onnx');
    const decoder = path.join(ensureTestModel('tiny', 42, ['fp32'], { family: 'gpt2' }), 'onnx', 'model.onnx');
    for (const [source, family] of [
      [encoder, 'distilbert'],
      [decoder, 'gpt2'],
    ] as const) {
      const { error, written } = instrumentAsAnalysis(
        mutatedCopy(source, (model) => externalise(largest(model), LOCATION)),
        family,
      );
      expect(error).toBeInstanceOf(AnalysisError);
      expect((error as AnalysisError).code).toBe('invalid-model');
      expect((error as Error).message).toMatch(
        /keeps tensor ".*" in an external file \("\.\.\/\.\.\/etc\/passwd"\).*inside the \.onnx file/,
      );
      expect((error as Error).message).not.toMatch(/\n\s+at /);
      expect(written).toEqual([]);
    }
  });

  it('refuses a Constant node whose value tensor is EXTERNAL, and a tensor with external_data entries alone', () => {
    const encoder = path.join(ensureTestModel('tiny', 42, ['fp32']), 'onnx', 'model.onnx');
    const constant = instrumentAsAnalysis(
      mutatedCopy(encoder, (model) => {
        // The largest initializer becomes a Constant node's value, as some exporters write weights.
        const tensor = largest(model);
        const graph = model.graph!;
        graph.initializer = graph.initializer!.filter((candidate) => candidate !== tensor);
        externalise(tensor, LOCATION);
        graph.node!.unshift(node('Constant', [], [tensor.name ?? ''], 'ExternalConstant', { value: tensor }));
      }),
      'distilbert',
    );
    expect((constant.error as AnalysisError).code).toBe('invalid-model');
    expect((constant.error as Error).message).toMatch(/in an external file \("\.\.\/\.\.\/etc\/passwd"\)/);
    expect(constant.written).toEqual([]);

    const entriesOnly = instrumentAsAnalysis(
      mutatedCopy(encoder, (model) => {
        const tensor = largest(model);
        tensor.externalData = [{ key: 'location', value: 'weights.bin' }];
      }),
      'distilbert',
    );
    expect((entriesOnly.error as AnalysisError).code).toBe('invalid-model');
    expect((entriesOnly.error as Error).message).toMatch(/in an external file \("weights\.bin"\)/);
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: 'an ONNX tensor (an initializer, encoder and decoder; a Constant node’s value) with data_location EXTERNAL pointing at ../../etc/passwd',
      outcome:
        'refused by the instrumentation as an invalid model (“keeps tensor … in an external file ("../../etc/passwd"); Attention Explorer reads only models whose weights are inside the .onnx file”), nothing written; onnxruntime is never asked',
    });
  });
});
