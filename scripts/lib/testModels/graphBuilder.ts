/**
 * Writing ONNX graphs the way PyTorch's exporter writes them, for the test models: named nodes, `onnx::MatMul_*`
 * weight constants fed to MatMul (or, for q8, DynamicQuantizeLinear + MatMulInteger as onnxruntime's
 * `quantize_dynamic` writes them), layer norm and exact GELU decomposed into primitive operators.
 */
import { DataType, floatTensor, int64Tensor, node, type AttributeValue, type onnx, tensor, valueInfo } from '../../../src/model/onnx/graph';
import type { NamedTensor } from '../../../src/reference/safetensors';

/** fp32, q8 (MatMulInteger, as `quantize_dynamic` writes it) or q4 (MatMulNBits, 4 bits in blocks of 32). */
export type TestModelDtype = 'fp32' | 'q8' | 'q4';

/** `W [out, in]` → `Wᵀ [in, out]`, the constant a PyTorch export feeds to MatMul. */
export function transposed(weight: NamedTensor): Float32Array {
  const [out = 0, input = 0] = weight.shape;
  const data = weight.data as Float32Array;
  const result = new Float32Array(out * input);
  for (let o = 0; o < out; o += 1) {
    for (let i = 0; i < input; i += 1) result[i * out + o] = data[o * input + i]!;
  }
  return result;
}

/** Per-tensor asymmetric uint8 quantization, as onnxruntime's `quantize_dynamic` does for weights. */
function quantizeUint8(values: Float32Array): { data: Uint8Array; scale: number; zeroPoint: number } {
  let min = 0;
  let max = 0;
  for (const value of values) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const scale = (max - min) / 255 || 1;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-min / scale)));
  const data = new Uint8Array(values.length);
  values.forEach((value, index) => (data[index] = Math.min(255, Math.max(0, Math.round(value / scale) + zeroPoint))));
  return { data, scale: Math.fround(scale), zeroPoint };
}

/** Blocks of 32 weights along K, 4 bits each, symmetric around 8 (MatMulNBits's default zero point). */
const Q4_BLOCK = 32;

/**
 * `Wᵀ [in, out]` as MatMulNBits wants it: per output n, ⌈K/32⌉ blocks of 16 bytes (even k in the low nibble) and one
 * scale per block, so that `W[n, k] = (q − 8) · scale`.
 */
export function quantizeQ4(weightT: Float32Array, input: number, out: number): { packed: Uint8Array; scales: Float32Array } {
  const blocks = Math.ceil(input / Q4_BLOCK);
  const packed = new Uint8Array(out * blocks * (Q4_BLOCK / 2));
  const scales = new Float32Array(out * blocks);
  for (let n = 0; n < out; n += 1) {
    for (let block = 0; block < blocks; block += 1) {
      let max = 0;
      for (let k = block * Q4_BLOCK; k < Math.min(input, (block + 1) * Q4_BLOCK); k += 1)
        max = Math.max(max, Math.abs(weightT[k * out + n]!));
      const scale = max / 7 || 1;
      scales[n * blocks + block] = scale;
      for (let j = 0; j < Q4_BLOCK; j += 1) {
        const k = block * Q4_BLOCK + j;
        const q = k < input ? Math.min(15, Math.max(0, Math.round(weightT[k * out + n]! / scale) + 8)) : 8;
        const byte = (n * blocks + block) * (Q4_BLOCK / 2) + (j >> 1);
        packed[byte]! |= j % 2 === 0 ? q : q << 4;
      }
    }
  }
  return { packed, scales };
}

export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private counter: number;
  private matmulIndex: number;

  constructor(
    private readonly weights: Map<string, NamedTensor>,
    private readonly dtype: TestModelDtype,
    /** Where generated names start counting (two branches of one `If` must not share names). */
    firstIndex = 0,
  ) {
    this.counter = firstIndex;
    this.matmulIndex = firstIndex;
  }

  weight(name: string): NamedTensor {
    const found = this.weights.get(name);
    if (!found) throw new Error(`missing weight ${name}`);
    return found;
  }

  add(opType: string, inputs: string[], name: string, attributes: Record<string, AttributeValue> = {}, outputs = 1): string[] {
    const names = Array.from({ length: outputs }, () => `/${name.replace(/^\//, '')}_output_${this.counter++}`);
    this.nodes.push(node(opType, inputs, names, name, attributes));
    return names;
  }

  /** A node of onnxruntime's `com.microsoft` domain, with outputs named by the caller where given. */
  addMicrosoft(
    opType: string,
    inputs: string[],
    name: string,
    attributes: Record<string, AttributeValue>,
    outputs: Array<string | undefined>,
  ): string[] {
    const names = outputs.map((given) => given ?? `/${name.replace(/^\//, '')}_output_${this.counter++}`);
    this.nodes.push({ ...node(opType, inputs, names, name, attributes), domain: 'com.microsoft' });
    return names;
  }

  /** A node whose outputs have the names given (graph outputs such as `present.0.key`). */
  named(opType: string, inputs: string[], outputs: string[], name: string, attributes: Record<string, AttributeValue> = {}): void {
    this.nodes.push(node(opType, inputs, outputs, name, attributes));
  }

  floats(name: string, values: ArrayLike<number>, dims: number[]): string {
    this.initializers.push(floatTensor(name, Float32Array.from(values), dims));
    return name;
  }

  one(opType: string, inputs: string[], name: string, attributes: Record<string, AttributeValue> = {}): string {
    return this.add(opType, inputs, name, attributes)[0]!;
  }

  int64(name: string, values: number[], dims?: number[]): string {
    this.initializers.push(int64Tensor(name, values, dims ?? [values.length]));
    return name;
  }

  float(name: string, value: number): string {
    this.initializers.push(floatTensor(name, [value], []));
    return name;
  }

  /** Parameters the graph uses by name (embeddings, biases, norms), as the exporter keeps them. */
  keepByName(names: Iterable<string>): void {
    for (const name of names) {
      const value = this.weight(name);
      this.initializers.push(floatTensor(name, value.data as Float32Array, value.shape));
    }
  }

  /**
   * `x @ Wᵀ + b`: MatMul with an `onnx::MatMul_*` constant as the exporter names it (DynamicQuantizeLinear +
   * MatMulInteger for q8, MatMulNBits for q4). `layout: 'in-out'` takes a weight already `[in, out]` (GPT-2's
   * Conv1D); `bias: false` for layers without one.
   */
  linear(x: string, prefix: string, scope: string, options: { bias?: boolean; layout?: 'out-in' | 'in-out' } = {}): string {
    const w = this.weight(`${prefix}.weight`);
    const inOut = options.layout === 'in-out';
    const [rows = 0, cols = 0] = w.shape;
    const [out, input] = inOut ? [cols, rows] : [rows, cols];
    const matrix = inOut ? (w.data as Float32Array) : transposed(w);
    const constantName = `onnx::MatMul_${1000 + this.matmulIndex++}`;
    let product: string;
    if (this.dtype === 'fp32') {
      this.initializers.push(floatTensor(constantName, matrix, [input, out]));
      product = this.one('MatMul', [x, constantName], `${scope}/MatMul`);
    } else if (this.dtype === 'q4') {
      const { packed, scales } = quantizeQ4(matrix, input, out);
      const blocks = Math.ceil(input / Q4_BLOCK);
      this.initializers.push(tensor(`${constantName}_Q4`, DataType.UINT8, [out, blocks, Q4_BLOCK / 2], packed));
      this.initializers.push(floatTensor(`${constantName}_scales`, scales, [out * blocks]));
      [product] = this.addMicrosoft(
        'MatMulNBits',
        [x, `${constantName}_Q4`, `${constantName}_scales`],
        `${scope}/MatMulNBits`,
        { K: input, N: out, bits: 4, block_size: Q4_BLOCK, accuracy_level: 0 },
        [undefined],
      ) as [string];
    } else {
      const quantized = quantizeUint8(matrix);
      this.initializers.push(tensor(`${constantName}_quantized`, DataType.UINT8, [input, out], quantized.data));
      this.initializers.push(floatTensor(`${constantName}_scale`, [quantized.scale], []));
      this.initializers.push(tensor(`${constantName}_zero_point`, DataType.UINT8, [], Uint8Array.of(quantized.zeroPoint)));
      const [xq, xScale, xZero] = this.add('DynamicQuantizeLinear', [x], `${scope}/MatMul_quant`, {}, 3) as [string, string, string];
      const integer = this.one(
        'MatMulInteger',
        [xq, `${constantName}_quantized`, xZero, `${constantName}_zero_point`],
        `${scope}/MatMul_MatMulInteger`,
      );
      const asFloat = this.one('Cast', [integer], `${scope}/MatMul_output_quantized_cast`, { to: DataType.FLOAT });
      const scale = this.one('Mul', [xScale, `${constantName}_scale`], `${scope}/MatMul_scales_mul`);
      product = this.one('Mul', [asFloat, scale], `${scope}/MatMul_output_quantized_mul`);
    }
    return options.bias === false ? product : this.one('Add', [product, `${prefix}.bias`], `${scope}/Add`);
  }

  /** RMS norm over the last axis, decomposed as transformers' LlamaRMSNorm exports: x · 1/√(mean(x²) + ε) · γ. */
  rmsNorm(x: string, weight: string, scope: string, eps: number): string {
    const squared = this.one('Pow', [x, this.float(`${scope}/Constant_2`, 2)], `${scope}/Pow`);
    const variance = this.one('ReduceMean', [squared], `${scope}/ReduceMean`, { axes: [-1] });
    const root = this.one('Sqrt', [this.one('Add', [variance, this.float(`${scope}/Constant_eps`, eps)], `${scope}/Add`)], `${scope}/Sqrt`);
    const inverse = this.one('Reciprocal', [root], `${scope}/Reciprocal`);
    return this.one('Mul', [weight, this.one('Mul', [x, inverse], `${scope}/Mul`)], `${scope}/Mul_1`);
  }

  /** Layer norm over the last axis, decomposed as opset 14 exports it. */
  layerNorm(x: string, prefix: string, scope: string, eps: number): string {
    const mean = this.one('ReduceMean', [x], `${scope}/ReduceMean`, { axes: [-1] });
    const centred = this.one('Sub', [x, mean], `${scope}/Sub`);
    const squared = this.one('Pow', [centred, this.float(`${scope}/Constant_2`, 2)], `${scope}/Pow`);
    const variance = this.one('ReduceMean', [squared], `${scope}/ReduceMean_1`, { axes: [-1] });
    const shifted = this.one('Add', [variance, this.float(`${scope}/Constant_eps`, eps)], `${scope}/Add`);
    const deviation = this.one('Sqrt', [shifted], `${scope}/Sqrt`);
    const normalised = this.one('Div', [centred, deviation], `${scope}/Div`);
    const scaled = this.one('Mul', [normalised, `${prefix}.weight`], `${scope}/Mul`);
    return this.one('Add', [scaled, `${prefix}.bias`], `${scope}/Add_1`);
  }

  /** Exact GELU as PyTorch exports it: x · (erf(x / √2) + 1) · 0.5 */
  gelu(x: string, scope: string): string {
    const erf = this.one('Erf', [this.one('Div', [x, this.float(`${scope}/Constant_sqrt2`, Math.SQRT2)], `${scope}/Div`)], `${scope}/Erf`);
    const plusOne = this.one('Add', [erf, this.float(`${scope}/Constant_one`, 1)], `${scope}/Add`);
    return this.one('Mul', [this.one('Mul', [x, plusOne], `${scope}/Mul`), this.float(`${scope}/Constant_half`, 0.5)], `${scope}/Mul_1`);
  }

  /** The model around the nodes, with an output renamed to what the export calls it. */
  model(
    inputs: onnx.IValueInfoProto[],
    output: { tensor: string; name: string; shape: Array<number | string> },
    version: number,
  ): onnx.IModelProto {
    this.nodes.push(node('Identity', [output.tensor], [output.name], `/Identity_${output.name}`));
    return this.modelWith(inputs, [valueInfo(output.name, DataType.FLOAT, output.shape)], version);
  }

  /** The model around the nodes, with the outputs given (their tensors already named so). */
  modelWith(inputs: onnx.IValueInfoProto[], outputs: onnx.IValueInfoProto[], version: number): onnx.IModelProto {
    const usesMicrosoft = this.nodes.some((candidate) => candidate.domain === 'com.microsoft');
    return {
      irVersion: 8,
      producerName: 'attention-explorer make-test-model',
      producerVersion: String(version),
      opsetImport: [{ domain: '', version: 14 }, ...(usesMicrosoft ? [{ domain: 'com.microsoft', version: 1 }] : [])],
      graph: { name: 'main_graph', node: this.nodes, initializer: this.initializers, input: inputs, output: outputs },
    };
  }
}
