/**
 * An analysis's attention as the worker and the CLI read it: each layer's `[heads, n, n]` maps, one head's `[n, n]`
 * map, or a layer's mean over heads, asked for one at a time. Maps a model computes again on demand from its queries
 * and keys ({@link OnDemandMaps}) and maps held as they came (a file's, or a graph's that does not expose its
 * operands: {@link StoredMaps}) answer alike, so that no view needs every layer at once.
 */
import { overHeads } from '../shared/attentionViews';

export interface LayerMaps {
  readonly layerCount: number;
  readonly heads: number;
  readonly n: number;
  /** The bytes held between requests. */
  readonly heldBytes: number;
  /** Whether each request computes its maps (and allocates them); false when they are held. */
  readonly onDemand: boolean;
  /** Layer `layer`'s maps, `[heads, n, n]`; the caller may keep or transfer the array when {@link onDemand}. */
  layer(layer: number): Promise<Float32Array>;
  /** One head's map, `[n, n]`. */
  head(layer: number, head: number): Promise<Float32Array>;
  /** A layer's mean over its heads, `[n, n]`. */
  headMean(layer: number): Promise<Float32Array>;
  /**
   * Layer `layer`'s maps max-pooled over the `keep` rows and columns to `[heads, size, size]` (a grid's thumbnails, as
   * `GridBuilder.pooling` describes them), where maps computed on demand are computed.
   */
  pooledLayer?(layer: number, keep: Int32Array, size: number): Promise<Float32Array>;
}

export function checkLayer(maps: Pick<LayerMaps, 'layerCount' | 'heads'>, layer: number, head = 0): void {
  if (!Number.isInteger(layer) || layer < 0 || layer >= maps.layerCount || !Number.isInteger(head) || head < 0 || head >= maps.heads) {
    throw new RangeError(`no head ${layer}.${head} in ${maps.layerCount}×${maps.heads}`);
  }
}

/** Maps held as they are: per layer `[heads, n, n]`. */
export class StoredMaps implements LayerMaps {
  readonly onDemand = false;

  constructor(
    readonly layers: readonly Float32Array[],
    readonly heads: number,
    readonly n: number,
  ) {}

  get layerCount(): number {
    return this.layers.length;
  }

  get heldBytes(): number {
    return this.layers.reduce((sum, layer) => sum + layer.byteLength, 0);
  }

  layer(layer: number): Promise<Float32Array> {
    checkLayer(this, layer);
    return Promise.resolve(this.layers[layer]!);
  }

  head(layer: number, head: number): Promise<Float32Array> {
    checkLayer(this, layer, head);
    const size = this.n * this.n;
    return Promise.resolve(this.layers[layer]!.subarray(head * size, (head + 1) * size));
  }

  headMean(layer: number): Promise<Float32Array> {
    checkLayer(this, layer);
    return Promise.resolve(overHeads('mean', this.layers[layer]!, this.heads, this.n));
  }
}

/** Every layer, one after another, each dropped before the next is computed. */
export async function* eachLayer(maps: LayerMaps): AsyncGenerator<[number, Float32Array]> {
  for (let layer = 0; layer < maps.layerCount; layer += 1) yield [layer, await maps.layer(layer)];
}

/** Every layer's maps at once (for small inputs and tests: at 2048 tokens a full-size model's would not fit). */
export async function allLayers(maps: LayerMaps): Promise<Float32Array[]> {
  const layers: Float32Array[] = [];
  for await (const [, layer] of eachLayer(maps)) layers.push(maps.onDemand ? layer : layer.slice());
  return layers;
}
