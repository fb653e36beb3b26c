/**
 * Interventions on a decoder run its whole instrumented graph with a head mask, many rows per call: a decoder is not
 * cut into layers (its cache inputs and outputs run through every layer), and what is explained is the next token,
 * read from the last position's logits. Rows are chunked to keep each call's attention tensors within a budget.
 */
import type { ChainRow } from './layerChain';
import type { DecoderSession } from './decoderSession';
import type { InterventionRunner } from './explanations';

/** The working set one batched call may take (attention maps dominate: rows × heads × n² floats per layer). */
const WORKING_SET_BUDGET_BYTES = 96 * 1024 * 1024;

export class DecoderInterventions implements InterventionRunner {
  readonly lastLayer = 'all' as const;

  constructor(
    private readonly session: DecoderSession,
    readonly shape: {
      layers: number;
      heads: number;
      width: number;
      intermediate: number;
      /**
       * An 8-bit graph quantizes each activation with one scale for the whole batch (DynamicQuantizeLinear): a row's
       * result would depend on the rows batched with it, so such graphs run one row at a time. 4-bit MatMulNBits
       * quantizes only the weights.
       */
      rowByRow: boolean;
    },
  ) {}

  rowsPerRun(n: number): number {
    const { heads, width, intermediate, rowByRow } = this.shape;
    if (rowByRow) return 1;
    return Math.max(1, Math.floor(WORKING_SET_BUDGET_BYTES / (4 * (4 * heads * n * n + 2 * n * intermediate + 8 * n * width))));
  }

  /** Each row's last-position logits (rows of one length). */
  async outputs(rows: readonly ChainRow[]): Promise<Float32Array[]> {
    if (rows.length === 0) return [];
    const n = rows[0]!.ids.length;
    const { layers, heads } = this.shape;
    const chunk = this.rowsPerRun(n);
    const out: Float32Array[] = [];
    for (let start = 0; start < rows.length; start += chunk) {
      const part = rows.slice(start, start + chunk);
      const headMask = new Float32Array(part.length * layers * heads).fill(1);
      part.forEach((row, index) => row.headMask && headMask.set(row.headMask, index * layers * heads));
      const run = await this.session.run({ inputIds: part.map((row) => row.ids), headMask });
      for (let row = 0; row < part.length; row += 1) out.push(run.logits.slice(row * run.vocab, (row + 1) * run.vocab));
    }
    return out;
  }
}
