/**
 * The worker's memory of recent analyses' attention tensors, so that views can ask for any head (and, later, for
 * rollout and flow) without the tensors crossing to the extension host. Least recently used first out, within a byte
 * budget: a 512-token DistilBERT analysis holds 75 MB.
 */
import type { CachedAnalysis } from './attentionViews';

export type CachedAttention = CachedAnalysis;

export const DEFAULT_TENSOR_BUDGET_BYTES = 384 * 1024 * 1024;

export class TensorCache {
  private readonly entries = new Map<string, CachedAttention>();

  constructor(private readonly budgetBytes = DEFAULT_TENSOR_BUDGET_BYTES) {}

  put(id: string, attention: CachedAttention): void {
    this.entries.delete(id);
    this.entries.set(id, attention);
    let total = [...this.entries.values()].reduce((sum, entry) => sum + bytesOf(entry), 0);
    for (const [key, entry] of this.entries) {
      if (total <= this.budgetBytes || key === id) break;
      total -= bytesOf(entry);
      this.entries.delete(key);
    }
  }

  get(id: string): CachedAttention | undefined {
    const entry = this.entries.get(id);
    if (entry) {
      this.entries.delete(id);
      this.entries.set(id, entry);
    }
    return entry;
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

function bytesOf(entry: CachedAttention): number {
  return entry.layers.reduce((sum, layer) => sum + layer.byteLength, 0);
}
