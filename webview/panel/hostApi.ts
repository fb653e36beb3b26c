/**
 * Typed requests to the host, with binary results turned into Float32Arrays, and a small cache of full head maps
 * (hovering the grid at 512 tokens fetches a head once, then reads it locally).
 */
import type { DisplayOptions, WebviewRequest, WebviewRequestResults } from '../../src/shared/protocol';
import { RequestChannel } from '../../src/shared/requestChannel';

export interface LabelledMap {
  labels: string[];
  map: Float32Array;
}

export class HostApi {
  private readonly heads = new Map<string, Promise<LabelledMap>>();
  /** A grid the host sent ahead of its analysis, taken by the first matching request. */
  private prefetched: { key: string; grid: { labels: string[]; size: number; thumbnails: Float32Array } } | undefined;

  constructor(private readonly channel: RequestChannel) {}

  request<TKind extends WebviewRequest['kind']>(request: Extract<WebviewRequest, { kind: TKind }>): Promise<WebviewRequestResults[TKind]> {
    return this.channel.request(request);
  }

  /** A full head map, cached per analysis, head and options (up to 16 maps). */
  headMap(analysisId: string, layer: number, head: number, options: DisplayOptions): Promise<LabelledMap> {
    const key = `${analysisId}|${layer}|${head}|${options.hideSpecial}|${options.mergeWords}`;
    let entry = this.heads.get(key);
    if (!entry) {
      entry = this.request({ kind: 'headMap', analysisId, layer, head, options }).then(({ labels, map }) => ({ labels, map: new Float32Array(map) }));
      entry.catch(() => this.heads.delete(key));
      this.heads.set(key, entry);
      if (this.heads.size > 16) this.heads.delete(this.heads.keys().next().value!);
    }
    return entry;
  }

  async layerMaps(analysisId: string, layer: number, options: DisplayOptions) {
    const { labels, maps } = await this.request({ kind: 'layerMaps', analysisId, layer, options });
    return { labels, maps: new Float32Array(maps) };
  }

  /** Keeps a grid the host computed ahead of the analysis it belongs to. */
  primeGrid(analysisId: string, requestedSize: number, options: DisplayOptions, grid: { labels: string[]; size: number; thumbnails: ArrayBuffer }): void {
    this.prefetched = { key: `${analysisId}|${requestedSize}|${options.hideSpecial}|${options.mergeWords}`, grid: { labels: grid.labels, size: grid.size, thumbnails: new Float32Array(grid.thumbnails) } };
  }

  async grid(analysisId: string, size: number, options: DisplayOptions) {
    const prefetched = this.prefetched;
    if (prefetched?.key === `${analysisId}|${size}|${options.hideSpecial}|${options.mergeWords}`) {
      this.prefetched = undefined;
      return prefetched.grid;
    }
    const { labels, size: s, thumbnails } = await this.request({ kind: 'grid', analysisId, size, options });
    return { labels, size: s, thumbnails: new Float32Array(thumbnails) };
  }

  async aggregate(analysisId: string, aggregate: 'mean' | 'max' | 'rollout' | 'flow', layer: number, options: DisplayOptions): Promise<LabelledMap> {
    const { labels, map } = await this.request({ kind: 'aggregate', analysisId, aggregate, layer, options });
    return { labels, map: new Float32Array(map) };
  }

  async neuron(analysisId: string, layer: number, head: number, query: number) {
    const result = await this.request({ kind: 'neuron', analysisId, layer, head, query });
    return { query: new Float32Array(result.query), keys: new Float32Array(result.keys), scale: result.scale, probabilities: new Float32Array(result.probabilities), labels: result.labels };
  }
}
