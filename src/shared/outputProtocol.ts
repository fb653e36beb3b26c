/**
 * What crosses between an attention document's viewer and the extension host, declared once. The viewer is the same
 * page code in two places: the notebook renderer (one output of `application/vnd.attention-explorer.attention+json`,
 * over the renderer messaging channel) and the `.attention.json` custom editor (a webview). It shows the document's
 * maps itself; the host only saves exports (its save dialog) and moves the attention into the full panel.
 *
 * This module must stay free of `vscode` and Node imports: the webview bundles import it too.
 */
import * as v from 'valibot';
import { shortText } from './analysis';
import { EXPORT_FORMATS } from './panelProtocol';
import { event, request, type Peer } from './rpc';
import { WEBVIEW_EVENTS } from './webviewEvents';

const attentionName = v.pipe(v.string(), v.minLength(1), v.maxLength(64));

/** Where the attention to open comes from: the document itself (a notebook output), or the file the editor shows. */
export const OutputSourceSchema = v.variant('kind', [
  v.object({ kind: v.literal('document'), document: v.unknown() }),
  v.object({ kind: v.literal('file') }),
]);
export type OutputSource = v.InferOutput<typeof OutputSourceSchema>;

/** A file to save: text as it is, bytes as base64 (renderer messages are JSON). */
const ExportContentSchema = v.variant('encoding', [
  v.object({ encoding: v.literal('text'), text: v.pipe(v.string(), v.maxLength(256 * 1024 * 1024)) }),
  v.object({ encoding: v.literal('base64'), base64: v.pipe(v.string(), v.maxLength(256 * 1024 * 1024)) }),
]);
export type ExportContent = v.InferOutput<typeof ExportContentSchema>;

/** What the host serves and accepts from a viewer. */
export const OUTPUT_HOST = {
  requests: {
    /**
     * The translations VS Code loaded for the display language (`vscode.l10n.bundle`, as JSON; null in English): a
     * notebook renderer's page gets no bundle of its own, unlike the extension's webviews.
     */
    l10nBundle: request(v.object({})).returns<{ contents: string | null }>(),
    /**
     * Shows one self-attention of the document in the Attention Explorer panel (the worker reads and holds it, as it
     * holds a model's); `title` names where it came from ("notebook.ipynb, cell 3").
     */
    openInPanel: request(v.object({ source: OutputSourceSchema, attention: attentionName, title: shortText })).returns<{
      opened: boolean;
    }>(),
    /** Saves what the viewer rendered through the host's save dialog (PNG as base64: renderer messages are JSON). */
    export: request(
      v.object({
        format: v.picklist(EXPORT_FORMATS),
        suggestedName: v.pipe(v.string(), v.maxLength(200), v.regex(/^[\w.() -]+$/, 'a plain file name')),
        content: ExportContentSchema,
      }),
    ).returns<{ path: string | null }>(),
  },
  events: WEBVIEW_EVENTS,
} satisfies Peer;
export type OutputHost = typeof OUTPUT_HOST;

/** What a viewer accepts from the host (the custom editor's page; the notebook renderer gets its data from VS Code). */
export const OUTPUT_WEBVIEW = {
  requests: {},
  events: {
    /** The file's bytes (decoded, parsed and checked by the page, off the host's event loop) and its name. */
    showDocument: event(
      v.object({ bytes: v.custom<Uint8Array>((input) => input instanceof Uint8Array, 'expected a Uint8Array'), name: shortText }),
    ),
    /** The file could not be read (too large, gone): shown instead of the maps. */
    showError: event(v.object({ message: v.pipe(v.string(), v.maxLength(4096)) })),
  },
} satisfies Peer;
export type OutputWebview = typeof OUTPUT_WEBVIEW;
