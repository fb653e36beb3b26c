/**
 * Writing ONNX graphs the way PyTorch's exporter writes them, for the test models: named nodes, `onnx::MatMul_*`
 * weight constants fed to MatMul (or, for q8, DynamicQuantizeLinear + MatMulInteger as onnxruntime's
 * `quantize_dynamic` writes them), layer norm and exact GELU decomposed into primitive operators.
 */
import { DataType, floatTensor, int64Tensor, node, type AttributeValue, type onnx, tensor, valueInfo } from '../../../src/model/onnx/graph';
import type { NamedTensor } from '../../../src/reference/safetensors';

export type TestModelDtype = 'fp32' | 'q8';

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

export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private counter = 0;
  private matmulIndex = 0;

  constructor(
    private readonly weights: Map<string, NamedTensor>,
    private readonly dtype: TestModelDtype,
  ) {}

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

  /** `x @ Wᵀ + b`: MatMul with an `onnx::MatMul_*` constant as the exporter names it (quantized for q8). */
  linear(x: string, prefix: string, scope: string): string {
    const w = this.weight(`${prefix}.weight`);
    const [out = 0, input = 0] = w.shape;
    const constantName = `onnx::MatMul_${1000 + this.matmulIndex++}`;
    let product: string;
    if (this.dtype === 'fp32') {
      this.initializers.push(floatTensor(constantName, transposed(w), [input, out]));
      product = this.one('MatMul', [x, constantName], `${scope}/MatMul`);
    } else {
      const quantized = quantizeUint8(transposed(w));
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
    return this.one('Add', [product, `${prefix}.bias`], `${scope}/Add`);
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
    return {
      irVersion: 8,
      producerName: 'attention-explorer make-test-model',
      producerVersion: String(version),
      opsetImport: [{ domain: '', version: 14 }],
      graph: {
        name: 'main_graph',
        node: this.nodes,
        initializer: this.initializers,
        input: inputs,
        output: [valueInfo(output.name, DataType.FLOAT, output.shape)],
      },
    };
  }
}
