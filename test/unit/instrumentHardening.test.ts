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
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { distilbert } from '../../src/model/families/distilbert';
import { gpt2 } from '../../src/model/families/gpt2';
import { readModelConfig, type ModelFamily } from '../../src/model/families';
import { instrumentBytes, instrumentedModelFor } from '../../src/model/instrumentedCache';
import { DataType, decodeModel, encodeModel, node, onnx, valueInfo } from '../../src/model/onnx/graph';
import { InstrumentationError, instrumentModel } from '../../src/model/onnx/instrument';
import { instrumentDecoderModel } from '../../src/model/onnx/instrumentDecoder';
import { splitIntoLayerSegments } from '../../src/model/onnx/segments';
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

/** A seeded generator of numbers in [0, 1) (mulberry32): the same seed makes the same mutations. */
function seededRandom(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)];
const Type = onnx.AttributeProto.AttributeType;

/** The graph and its subgraphs (an If's branches). */
function scopesOf(graph: onnx.IGraphProto): onnx.IGraphProto[] {
  return [
    graph,
    ...(graph.node ?? []).flatMap((candidate) =>
      (candidate.attribute ?? []).flatMap((attribute) => [attribute.g, ...(attribute.graphs ?? [])].filter((g) => !!g).flatMap(scopesOf)),
    ),
  ];
}

/**
 * One change to a graph, in a scope picked at random (for a merged decoder, mostly inside its If's branches); says
 * what it did, or undefined where it does not apply.
 */
type Mutation = (model: onnx.IModelProto, scope: onnx.IGraphProto, random: Random) => string | undefined;

const nodesOf = (scope: onnx.IGraphProto) => scope.node ?? [];
const someNode = (scope: onnx.IGraphProto, random: Random, opType?: string) =>
  pick(
    random,
    nodesOf(scope).filter((candidate) => opType === undefined || candidate.opType === opType),
  );
const HUGE = 2 ** 40;
const someWriter = (scope: onnx.IGraphProto, random: Random) =>
  pick(
    random,
    nodesOf(scope).filter((candidate) => candidate.output?.[0]),
  );

/** Renames a tensor wherever the scope writes, reads or outputs it. */
function renameEverywhere(scope: onnx.IGraphProto, old: string, name: string): void {
  const renamed = (tensor: string) => (tensor === old ? name : tensor);
  for (const candidate of nodesOf(scope)) {
    candidate.input = (candidate.input ?? []).map(renamed);
    candidate.output = (candidate.output ?? []).map(renamed);
  }
  for (const output of scope.output ?? []) output.name = renamed(output.name ?? '');
}

const MUTATIONS: Record<string, Mutation> = {
  'drop a node': (_, scope, random) => {
    const victim = someNode(scope, random);
    if (!victim) return undefined;
    scope.node = nodesOf(scope).filter((candidate) => candidate !== victim);
    return `dropped ${victim.opType} ${victim.name}`;
  },
  'drop the attention Softmax': (_, scope, random) => {
    const victim = someNode(scope, random, 'Softmax');
    if (!victim) return undefined;
    scope.node = nodesOf(scope).filter((candidate) => candidate !== victim);
    return `dropped ${victim.name}`;
  },
  "drop a node's input": (_, scope, random) => {
    const victim = pick(
      random,
      nodesOf(scope).filter((candidate) => (candidate.input ?? []).length > 0),
    );
    if (!victim) return undefined;
    const at = Math.floor(random() * victim.input!.length);
    if (random() < 0.5) victim.input = victim.input!.filter((_, index) => index !== at);
    else victim.input![at] = '';
    return `dropped input ${at} of ${victim.name}`;
  },
  'rename an input to a later output (a cycle)': (_, scope, random) => {
    const nodes = nodesOf(scope);
    const from = Math.floor(random() * nodes.length);
    const reader = nodes[from];
    const writer = pick(
      random,
      nodes.slice(from).filter((candidate) => (candidate.output ?? []).some((output) => output !== '')),
    );
    if (!reader?.input?.length || !writer) return undefined;
    reader.input[Math.floor(random() * reader.input.length)] = writer.output!.find((output) => output !== '')!;
    return `${reader.name} now reads ${writer.name}'s output`;
  },
  'rename a tensor everywhere': (_, scope, random) => {
    const writer = someWriter(scope, random);
    if (!writer) return undefined;
    const old = writer.output![0]!;
    const name = `renamed/${Math.floor(random() * 1e6)}`;
    renameEverywhere(scope, old, name);
    return `renamed ${old} to ${name}`;
  },
  'rename a graph output everywhere': (_, scope, random) => {
    const output = pick(random, scope.output ?? []);
    if (!output?.name) return undefined;
    const old = output.name;
    renameEverywhere(scope, old, `${old}/renamed`);
    return `renamed output ${old}`;
  },
  "rename a node's output only (dangling readers)": (_, scope, random) => {
    const writer = someWriter(scope, random);
    if (!writer) return undefined;
    const old = writer.output![0]!;
    writer.output![0] = `${old}/elsewhere`;
    return `renamed the output of ${writer.name}`;
  },
  'duplicate an output': (_, scope, random) => {
    const nodes = nodesOf(scope).filter((candidate) => candidate.output?.[0]);
    const [a, b] = [pick(random, nodes), pick(random, nodes)];
    if (!a || !b || a === b) return undefined;
    a.output![0] = b.output![0]!;
    return `${a.name} writes ${b.name}'s output too`;
  },
  'duplicate a node': (_, scope, random) => {
    const victim = someNode(scope, random);
    if (!victim) return undefined;
    const nodes = nodesOf(scope);
    nodes.splice(nodes.indexOf(victim) + 1, 0, onnx.NodeProto.create({ ...victim, name: `${victim.name}/copy` }));
    return `duplicated ${victim.name}`;
  },
  'duplicate a graph output': (_, scope) => {
    if (!scope.output?.length) return undefined;
    scope.output = [...scope.output, scope.output[0]!];
    return `listed output ${scope.output[0]!.name} twice`;
  },
  'another Softmax that feeds a product': (_, scope, random) => {
    const softmax = someNode(scope, random, 'Softmax');
    if (!softmax?.input?.[0]) return undefined;
    const extra = `${softmax.output?.[0]}/extra`;
    scope.node = [
      ...nodesOf(scope),
      node('Softmax', [softmax.input[0]], [extra], 'Softmax/extra', { axis: -1 }),
      node('MatMul', [extra, extra], [`${extra}/product`], 'MatMul/extra'),
    ];
    return 'added a Softmax → MatMul pair';
  },
  'change an operator': (_, scope, random) => {
    const victim = someNode(scope, random, random() < 0.4 ? 'Softmax' : undefined);
    if (!victim) return undefined;
    const opType = pick(random, [
      'Relu',
      'MatMul',
      'Softmax',
      'Identity',
      'Add',
      'NoSuchOperator',
      'If',
      'Attention',
      'GroupQueryAttention',
    ])!;
    const was = victim.opType;
    victim.opType = opType;
    return `${victim.name}: ${was} → ${opType}`;
  },
  'wrong attribute type': (_, scope, random) => {
    const victim = pick(
      random,
      nodesOf(scope).filter((candidate) => candidate.attribute?.length),
    );
    if (!victim) return undefined;
    const attribute = pick(random, victim.attribute!)!;
    const type = pick(random, [Type.INT, Type.FLOAT, Type.STRING, Type.INTS, Type.TENSOR, Type.GRAPH, Type.FLOATS])!;
    attribute.type = type;
    if (random() < 0.5) {
      attribute.i = 0;
      attribute.ints = [];
      attribute.t = null;
      attribute.g = null;
    }
    return `${victim.name}.${attribute.name} typed ${Type[type]}`;
  },
  'odd Softmax axis': (_, scope, random) => {
    const softmax = someNode(scope, random, 'Softmax');
    if (!softmax) return undefined;
    const axis = pick(random, [-4, -2, 0, 1, 2, 3, 7, HUGE])!;
    softmax.attribute = [{ name: 'axis', type: Type.INT, i: axis }];
    return `${softmax.name} axis ${axis}`;
  },
  'wrong shape constant': (_, scope, random) => {
    const shape = pick(
      random,
      (scope.initializer ?? []).filter((tensor) => tensor.dataType === DataType.INT64 && (tensor.rawData?.byteLength ?? 0) >= 8),
    );
    if (!shape) return undefined;
    const values = BigInt64Array.from({ length: shape.rawData!.byteLength / 8 }, () => BigInt(pick(random, [-1, 0, 1, 3, 7, 1e9])!));
    shape.rawData = new Uint8Array(values.buffer);
    return `${shape.name} = [${values.join(', ')}]`;
  },
  'huge dims': (_, scope, random) => {
    const tensor = pick(random, scope.initializer ?? []);
    if (!tensor) return undefined;
    tensor.dims = [HUGE, ...(tensor.dims ?? []).slice(1)];
    return `${tensor.name} dims [2^40, …]`;
  },
  'huge or odd input dims': (_, scope, random) => {
    const input = pick(random, scope.input ?? []);
    const dims = input?.type?.tensorType?.shape?.dim;
    if (!dims?.length) return undefined;
    const at = Math.floor(random() * dims.length);
    dims[at] = random() < 0.5 ? { dimValue: pick(random, [0, 3, HUGE])! } : { dimParam: 'other' };
    if (random() < 0.3) dims.push({ dimValue: 5 });
    return `input ${input!.name} dim ${at} changed`;
  },
  'drop a graph input': (_, scope, random) => {
    const input = pick(random, scope.input ?? []);
    if (!input) return undefined;
    scope.input = (scope.input ?? []).filter((candidate) => candidate !== input);
    return `dropped input ${input.name}`;
  },
  'an unknown graph input': (_, scope) => {
    scope.input = [...(scope.input ?? []), valueInfo('token_type_ids', DataType.INT64, ['batch_size', 'sequence_length'])];
    return 'added input token_type_ids';
  },
  'drop an initializer': (_, scope, random) => {
    const tensor = pick(random, scope.initializer ?? []);
    if (!tensor) return undefined;
    scope.initializer = (scope.initializer ?? []).filter((candidate) => candidate !== tensor);
    return `dropped initializer ${tensor.name}`;
  },
  'swap two nodes': (_, scope, random) => {
    const nodes = nodesOf(scope);
    if (nodes.length < 2) return undefined;
    const [a, b] = [Math.floor(random() * nodes.length), Math.floor(random() * nodes.length)];
    [nodes[a], nodes[b]] = [nodes[b]!, nodes[a]!];
    return `swapped nodes ${a} and ${b}`;
  },
  'drop a branch': (_, scope, random) => {
    const branching = someNode(scope, random, 'If');
    if (!branching) return undefined;
    branching.attribute = (branching.attribute ?? []).slice(1);
    return `dropped a branch of ${branching.name}`;
  },
  'opset or IR version': (model, _, random) => {
    if (random() < 0.5) {
      model.opsetImport = [];
      return 'no opset';
    }
    model.irVersion = 3;
    return 'IR version 3';
  },
  'reserved name': (_, scope, random) => {
    const writer = someWriter(scope, random);
    if (!writer) return undefined;
    const name = pick(random, ['attention_explorer/head_axis', 'attention_probs.1', 'next_token_logits', 'attention_head_means.0'])!;
    const old = writer.output![0]!;
    renameEverywhere(scope, old, name);
    return `renamed ${old} to ${name}`;
  },
};

interface FuzzBase {
  name: string;
  family: ModelFamily;
  expected: { layers: number; heads: number };
  bytes: Uint8Array;
  cases: number;
}

function fuzzBase(name: string, folder: string, file: string, cases: number): FuzzBase {
  const { family, config } = readModelConfig(path.join(folder, 'config.json'));
  return {
    name,
    family,
    expected: { layers: config.layers, heads: config.heads },
    bytes: fs.readFileSync(path.join(folder, 'onnx', file)),
    cases,
  };
}

/** What became of one mutated graph. */
type FuzzOutcome = 'refused' | 'instrumented' | 'refused by onnxruntime';

/**
 * What onnxruntime says of a graph whose structure is broken (a tensor nothing defines, one defined twice, a cycle):
 * the instrumentation finds these itself. Shape, type and operator errors are onnxruntime's to find when it loads.
 */
const STRUCTURAL_FAULT = /is not a graph input, initializer, or output of a previous node|Duplicate definition of name|not acyclic/;

/** Instrumentation or refusal, per case: a hang guard, not a speed test (a case takes tens of milliseconds). */
const CASE_LIMIT_MS = 5_000;

/** Loads a graph as the analyzer does; the error's message when onnxruntime refuses it. */
const loadInOnnxruntime = async (bytes: Uint8Array): Promise<string | undefined> => {
  try {
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 4,
      intraOpNumThreads: 1,
    });
    await session.release();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
};

describe('issue 18: fuzzing the instrumentation with seeded mutations of the tiny test models', () => {
  it('refuses a decoder whose head output is not called logits (which onnxruntime loads), instead of breaking it', async () => {
    const model = decodeModel(fs.readFileSync(path.join(ensureTestModel('tiny', 42, ['fp32'], { family: 'gpt2' }), 'onnx', 'model.onnx')));
    for (const candidate of model.graph!.node!) candidate.output = candidate.output!.map((name) => (name === 'logits' ? 'scores' : name));
    for (const output of model.graph!.output!) if (output.name === 'logits') output.name = 'scores';
    const bytes = encodeModel(model);
    expect(await loadInOnnxruntime(bytes)).toBeUndefined();
    expect(() => instrumentBytes(bytes, { layers: 2, heads: 4 }, gpt2.pattern, { headMask: false }, 'model.onnx')).toThrow(
      /model\.onnx cannot be instrumented: The graph has no logits output/,
    );
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: 'a decoder graph (which onnxruntime loads) whose head output is called scores instead of logits',
      outcome: 'refused as an invalid model naming the outputs it has (before: instrumented into a graph onnxruntime refuses to load)',
    });
  });

  it('ends every mutation in an instrumented graph onnxruntime loads or in an invalid-model refusal, quickly', async () => {
    const bases = [
      fuzzBase('DistilBERT', ensureTestModel('tiny', 42, ['fp32']), 'model.onnx', 70),
      fuzzBase('GPT-2 unfused', ensureTestModel('tiny', 42, ['fp32'], { family: 'gpt2' }), 'model.onnx', 55),
      fuzzBase('GPT-2 merged', ensureTestModel('tiny', 42, ['fp32'], { family: 'gpt2', merged: true }), 'decoder_model_merged.onnx', 55),
      fuzzBase('Llama fused', ensureTestModel('tiny', 42, ['fp32'], { family: 'llama', attention: 'fused' }), 'model.onnx', 20),
    ];
    const names = Object.keys(MUTATIONS);
    const tally = new Map<FuzzOutcome, number>();
    const problems: string[] = [];
    let slowest = 0;
    let seed = 18_000;
    for (const base of bases) {
      for (let index = 0; index < base.cases; index += 1) {
        seed += 1;
        const random = seededRandom(seed);
        const model = decodeModel(base.bytes);
        const applied: string[] = [];
        const wanted = 1 + Math.floor(random() * 3);
        for (let attempt = 0; applied.length < wanted && attempt < 20; attempt += 1) {
          const name = pick(random, names)!;
          const scope = pick(random, scopesOf(model.graph!))!;
          const done = MUTATIONS[name]!(model, scope, random);
          if (done) applied.push(`${name}: ${done}`);
        }
        let bytes = encodeModel(model);
        // A few cases damage the bytes themselves: the nodes come first in the encoding.
        if (random() < 0.08) {
          bytes = random() < 0.5 ? bytes.slice(0, Math.floor(random() * 4096)) : bytes.slice();
          for (let flip = 0; flip < 8 && bytes.length > 0; flip += 1) {
            const at = Math.floor(random() * Math.min(bytes.length, 20_000));
            bytes[at] = bytes[at]! ^ 0xff;
          }
          applied.push('damaged bytes');
        }
        const headMask = random() < 0.5;
        const label = `${base.name} seed ${seed} (${applied.join('; ')}; head mask ${headMask})`;
        const started = performance.now();
        let outcome: FuzzOutcome;
        try {
          const result = instrumentBytes(bytes, base.expected, base.family.pattern, { headMask }, 'model.onnx');
          if (base.family.pattern.kind === 'encoder' && headMask) {
            // Interventions split the masked graph into layers: that too ends in segments or a refusal.
            try {
              splitIntoLayerSegments(result.bytes, base.expected.layers, { pattern: base.family.pattern, output: 'logits' });
            } catch (error) {
              if (!(error instanceof InstrumentationError)) problems.push(`${label}: splitting threw ${String(error)}`);
            }
          }
          slowest = Math.max(slowest, performance.now() - started);
          const loadError = await loadInOnnxruntime(result.bytes);
          if (loadError === undefined) outcome = 'instrumented';
          else {
            // Instrumentation must never break a graph onnxruntime loads: refusing it is then onnxruntime's to do.
            const originalError = await loadInOnnxruntime(bytes);
            if (originalError === undefined) problems.push(`${label}: the instrumented graph does not load (${loadError})`);
            else if (STRUCTURAL_FAULT.test(originalError)) {
              problems.push(`${label}: instrumented a graph with a fault of its structure (onnxruntime: ${originalError})`);
            }
            outcome = 'refused by onnxruntime';
          }
        } catch (error) {
          slowest = Math.max(slowest, performance.now() - started);
          outcome = 'refused';
          if (!(error instanceof AnalysisError) || error.code !== 'invalid-model') problems.push(`${label}: threw ${String(error)}`);
          else if (/\n\s+at /.test(error.message)) problems.push(`${label}: a stack trace in the message`);
        }
        if (performance.now() - started > CASE_LIMIT_MS) problems.push(`${label}: took ${Math.round(performance.now() - started)} ms`);
        tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
      }
    }
    expect(problems).toEqual([]);
    expect(slowest).toBeLessThan(CASE_LIMIT_MS);
    const total = bases.reduce((sum, base) => sum + base.cases, 0);
    const summary = `${total} mutations: ${tally.get('refused') ?? 0} refused by the instrumentation, ${tally.get('instrumented') ?? 0} instrumented (onnxruntime loads the result), ${tally.get('refused by onnxruntime') ?? 0} instrumented where onnxruntime refuses the mutated graph itself (shapes, types, operators: the analysis reports that refusal as an invalid model)`;
    expect(tally.get('refused')).toBeGreaterThan(0);
    expect(tally.get('instrumented')).toBeGreaterThan(0);
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: `fuzzing the instrumentation: ${total} seeded mutations (dropped nodes and inputs, cycles, renamed and duplicated tensors, wrong shapes and attribute types, huge dims, damaged bytes) of tiny DistilBERT, GPT-2 unfused and merged, and Llama fused graphs`,
      outcome: `${summary}; no crash, hang or other error type`,
    });
  }, 120_000);
});
