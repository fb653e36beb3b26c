/**
 * The panel's views, served in the page: a notebook output or an attention file carries its whole tensor, so the
 * requests the panel's views send to the host (which forwards them to the worker) are answered here, by the same
 * functions the worker runs (`src/shared/attentionViews.ts`), over the same RPC channel type. The views do not know
 * the difference; what needs a model (explanations, generation, the neuron view) is refused with a message.
 */
import * as l10n from '@vscode/l10n';
import { mapCsvPieces, mapJsonPieces } from '../../src/shared/mapExport';
import {
  aggregateOf,
  gridOf,
  headMapOf,
  headMeansOf,
  headSummaries,
  layerMapsOf,
  meanOverLayers,
  type HeldAttention,
} from '../../src/shared/attentionViews';
import { AnalysisError, messageOf } from '../../src/shared/errors';
import {
  PANEL_HOST,
  PANEL_WEBVIEW,
  type ExportFormat,
  type PanelHost,
  type PanelRequests,
  type PanelWebview,
} from '../../src/shared/panelProtocol';
import { RpcChannel, type RequestHandlers } from '../../src/shared/rpc';

/** What the page's host does that the page cannot: save files, export the whole tensor. */
export interface LocalHostActions {
  export(format: ExportFormat, suggestedName: string, content: string | ArrayBuffer): Promise<{ path: string | null }>;
  exportTensor(format: 'csv' | 'json'): Promise<{ path: string | null }>;
}

/** Rollout in the page up to this many tokens (n³ per layer: about a tenth of a second per layer at 512). */
const PAGE_ROLLOUT_TOKEN_LIMIT = 512;

function checkLayerHead(held: HeldAttention, layer: number, head?: number): void {
  if (layer >= held.layers.length || (head !== undefined && head >= held.heads)) {
    throw new AnalysisError(
      'invalid-request',
      `No head ${layer + 1}${head === undefined ? '' : `.${head + 1}`} in ${held.layers.length} layers × ${held.heads} heads.`,
    );
  }
}

/** The channel the page's views talk to, answered in the page from `held` (looked up per request: the shown attention can change). */
export function localHostChannel(
  heldOf: (analysisId: string) => HeldAttention,
  actions: LocalHostActions,
): RpcChannel<PanelHost, PanelWebview> {
  const noModel = (): never => {
    throw new AnalysisError('invalid-request', l10n.t('These maps came from a notebook or a file: there is no model here to run.'));
  };
  const handlers: RequestHandlers<PanelRequests> = {
    headMap: ({ analysisId, layer, head, options }) => {
      const held = heldOf(analysisId);
      checkLayerHead(held, layer, head);
      return headMapOf(held, layer, head, options);
    },
    layerMaps: ({ analysisId, layer, options }) => {
      const held = heldOf(analysisId);
      checkLayerHead(held, layer);
      return layerMapsOf(held, layer, options);
    },
    grid: ({ analysisId, size, options, layers }) => {
      const held = heldOf(analysisId);
      const grid = gridOf(layers ? { ...held, layers: held.layers.slice(layers.first, layers.first + layers.count) } : held, size, options);
      // Nothing travels: the page's own float32 thumbnails, whether pooled or not.
      return { ...grid, thumbnails: { dtype: 'float32', values: grid.thumbnails } };
    },
    aggregate: ({ analysisId, aggregate, layer, options }) => {
      const held = heldOf(analysisId);
      checkLayerHead(held, layer);
      // Rollout multiplies n × n matrices through the layers on the page's only thread, which every output shares.
      if (aggregate === 'rollout' && held.n > PAGE_ROLLOUT_TOKEN_LIMIT) {
        throw new AnalysisError(
          'invalid-request',
          l10n.t('Rollout over {0} tokens is computed in the panel: use Open in Attention Explorer.', held.n),
        );
      }
      try {
        return aggregateOf(held, aggregate, layer, options);
      } catch (error) {
        throw new AnalysisError('invalid-request', messageOf(error));
      }
    },
    meanOverLayers: ({ analysisId }) => {
      const held = heldOf(analysisId);
      return { map: meanOverLayers(headMeansOf(held), held.layers.length, held.n) };
    },
    headStats: ({ analysisId }) => ({ heads: headSummaries(heldOf(analysisId)) }),
    neuron: noModel,
    headImportance: noModel,
    attribution: noModel,
    ablate: noModel,
    nextTokens: noModel,
    generate: noModel,
    compare: noModel,
    export: ({ format, suggestedName, content }) => actions.export(format, suggestedName, content),
    exportTensor: ({ format }) => actions.exportTensor(format),
    exportHeadMap: ({ analysisId, format, suggestedName, layer, head, options, caption }) => {
      const held = heldOf(analysisId);
      checkLayerHead(held, layer, head);
      const { labels, map } = headMapOf(held, layer, head, options);
      const pieces =
        format === 'csv' ? mapCsvPieces(labels, map) : mapJsonPieces(labels, map, caption, { layer: layer + 1, head: head + 1, options });
      return actions.export(format, suggestedName, [...pieces].join(''));
    },
    revealToken: () => ({ revealed: false }),
    reanalyze: () => ({ started: false }),
    showAttribution: () => ({ shown: false }),
    insertGenerated: () => ({ inserted: false }),
    recentAnalyses: () => ({ analyses: [] }),
  };
  // Two ends in one page: each delivers to the other on a later microtask, as a real channel would.
  const ends: { page?: RpcChannel<PanelHost, PanelWebview> } = {};
  const hostEnd = new RpcChannel<PanelWebview, PanelHost>({
    post: (message) => queueMicrotask(() => ends.page?.receive(message)),
    local: PANEL_HOST,
    handlers,
    events: { ready: () => undefined, cspViolation: () => undefined },
  });
  const pageEnd = new RpcChannel<PanelHost, PanelWebview>({
    post: (message) => queueMicrotask(() => hostEnd.receive(message)),
    local: PANEL_WEBVIEW,
    handlers: {},
    events: { showAnalysis: () => undefined, gridPrefetch: () => undefined, focus: () => undefined, stale: () => undefined },
  });
  ends.page = pageEnd;
  return pageEnd;
}
