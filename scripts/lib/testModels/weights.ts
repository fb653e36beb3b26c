/**
 * Random weights for the test models, deterministic from a seed (MT19937, uniform with the stated standard
 * deviation), listed under Hugging Face's parameter names in PyTorch's layout (`[out, in]`), in checkpoint order.
 */
import { NumpyRandom } from '../../../src/engine/random';
import type { NamedTensor } from '../../../src/reference/safetensors';

export class WeightWriter {
  readonly entries: Array<[string, NamedTensor]> = [];
  private readonly random: NumpyRandom;

  constructor(
    seed: number,
    /** Standard deviation of linear weights (biases get a tenth of it). */
    private readonly weightStd: number,
  ) {
    this.random = new NumpyRandom(seed);
  }

  /** Uniform on [−√3σ, √3σ] has standard deviation σ; it is much faster than normals for a hundred million values. */
  uniform(count: number, std: number, centre = 0): Float32Array {
    const data = new Float32Array(count);
    const half = Math.sqrt(3) * std;
    for (let index = 0; index < count; index += 1) data[index] = centre + (2 * this.random.nextDouble() - 1) * half;
    return data;
  }

  tensor(name: string, shape: number[], data: Float32Array): void {
    this.entries.push([name, { dtype: 'F32', shape, data }]);
  }

  linear(prefix: string, out: number, input: number): void {
    this.tensor(`${prefix}.weight`, [out, input], this.uniform(out * input, this.weightStd));
    this.tensor(`${prefix}.bias`, [out], this.uniform(out, 0.1 * this.weightStd));
  }

  norm(prefix: string, width: number): void {
    this.tensor(`${prefix}.weight`, [width], this.uniform(width, 0.1, 1));
    this.tensor(`${prefix}.bias`, [width], this.uniform(width, 0.1));
  }

  embedding(name: string, rows: number, width: number): void {
    this.tensor(name, [rows, width], this.uniform(rows * width, 1));
  }

  /** A bias vector without a weight (the masked LM's output bias). */
  bias(name: string, width: number): void {
    this.tensor(name, [width], this.uniform(width, 0.1 * this.weightStd));
  }
}
