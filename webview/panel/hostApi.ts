/**
 * The panel's end of its RPC channel to the host, typed by `src/shared/panelProtocol.ts`, with the two things the
 * page keeps itself: full head maps already fetched (hovering the grid at 512 tokens fetches a head once, then reads
 * it locally), and the grid the host sent ahead of its analysis.
 */
import type { DisplayOptions } from '../../src/shared/analysis';
import { gridOfMessage, type Grid, type GridMessage, type LabelledMap } from '../../src/shared/analysisViews';
import { BoundedCache } from '../../src/shared/boundedCache';
import type { PanelHost, PanelRequests, PanelWebview } from '../../src/shared/panelProtocol';
import type { ParamsOf, ProgressOf, RequestOptions, ResultOf, RpcChannel } from '../../src/shared/rpc';

const keyOf = (...parts: Array<string | number | boolean>) => parts.join('|');

export class HostApi {
  private readonly heads = new BoundedCache<string, Promise<LabelledMap>>({ maxEntries: 16 });
  /** A grid the host sent ahead of its analysis, taken by the first matching request. */
  private prefetched: { key: string; grid: Grid } | undefined;

  /** Where the last whole grid came from: sent ahead by the host, or asked for (the UI tests read it). */
  lastGridSource: 'prefetch' | 'request' | undefined;

  constructor(private readonly channel: RpcChannel<PanelHost, PanelWebview>) {}

  request<K extends Extract<keyof PanelRequests, string>>(
    method: K,
    params: ParamsOf<PanelRequests[K]>,
    options?: RequestOptions<ProgressOf<PanelRequests[K]>>,
  ): Promise<ResultOf<PanelRequests[K]>> {
    return this.channel.request(method, params, options);
  }

  /** A full head map, cached per analysis, head and options. */
  headMap(analysisId: string, layer: number, head: number, options: DisplayOptions): Promise<LabelledMap> {
    const key = keyOf(analysisId, layer, head, options.hideSpecial, options.mergeWords);
    let entry = this.heads.use(key);
    if (!entry) {
      entry = this.request('headMap', { analysisId, layer, head, options });
      entry.catch(() => this.heads.delete(key));
      this.heads.set(key, entry);
    }
    return entry;
  }

  /** Keeps a grid the host computed ahead of the analysis it belongs to. */
  primeGrid(analysisId: string, requestedSize: number, options: DisplayOptions, grid: GridMessage): void {
    this.prefetched = { key: keyOf(analysisId, requestedSize, options.hideSpecial, options.mergeWords), grid: gridOfMessage(grid) };
  }

  /** Every head's thumbnail (float32, however they travelled): the grid sent ahead if it matches, else asked for. */
  async grid(analysisId: string, size: number, options: DisplayOptions, layers?: { first: number; count: number }): Promise<Grid> {
    if (layers) return gridOfMessage(await this.request('grid', { analysisId, size, options, layers }));
    const prefetched = this.prefetched;
    if (prefetched?.key === keyOf(analysisId, size, options.hideSpecial, options.mergeWords)) {
      this.prefetched = undefined;
      this.lastGridSource = 'prefetch';
      return prefetched.grid;
    }
    this.lastGridSource = 'request';
    return gridOfMessage(await this.request('grid', { analysisId, size, options }));
  }
}
