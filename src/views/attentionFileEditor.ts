/**
 * The `.attention.json` editor: a read-only custom editor whose page (`webview/attentionFile/`) shows an attention
 * document's maps itself. The host reads the file and sends its text (the page parses and checks it, off the
 * host's event loop), saves the page's exports through its save dialog, and moves the attention into the full panel
 * (the worker reads the file again and holds its tensors, as it holds a model's). The page keeps its own view state
 * across reloads; VS Code resolves the editor again and the page asks for the file once more.
 */
import * as vscode from 'vscode';
import type { AttentionImport } from '../analysis/attentionImport';
import { MAX_ATTENTION_TEXT_BYTES, type AttentionSource } from '../model/attentionImport';
import { AnalysisError, messageOf } from '../shared/errors';
import { OUTPUT_HOST, type OutputHost, type OutputSource, type OutputWebview } from '../shared/outputProtocol';
import type { RequestHandlers } from '../shared/rpc';
import { saveExport } from './exportFile';
import { openWebviewChannel, PageProbe, type WebviewChannel } from './webviewChannel';
import { webviewLoader } from './webviewHtml';

/** What an attention document's viewer asks of the rest of the extension. */
export interface AttentionViewerActions {
  /** Imports the document's attention and shows it in the panel; throws a message when it cannot. */
  openInPanel(request: AttentionImport, signal: AbortSignal): Promise<void>;
}

function fileNameOf(uri: vscode.Uri): string {
  return uri.path.split('/').pop() || uri.toString(true);
}

function mebibytes(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

/** Reads an attention file's text through VS Code's file system: at most {@link MAX_ATTENTION_TEXT_BYTES}. */
/** An attention file's text (for the worker, when the file is not on this machine's disk). */
export async function readAttentionFileText(uri: vscode.Uri): Promise<string> {
  // Not UTF-8 or not JSON: the worker says so, as it does for any document it cannot read.
  return new TextDecoder().decode(await readAttentionFileBytes(uri));
}

/** An attention file's bytes, refused above the size the extension reads. */
async function readAttentionFileBytes(uri: vscode.Uri): Promise<Uint8Array> {
  const name = fileNameOf(uri);
  const tooLarge = (bytes: number) =>
    new AnalysisError(
      'invalid-document',
      vscode.l10n.t(
        '{0} is {1} MiB; Attention Explorer opens attention files up to {2} MiB. Write it with fewer layers or fewer tokens.',
        name,
        mebibytes(bytes),
        mebibytes(MAX_ATTENTION_TEXT_BYTES),
      ),
    );
  let bytes: Uint8Array;
  try {
    const { size } = await vscode.workspace.fs.stat(uri);
    if (size > MAX_ATTENTION_TEXT_BYTES) throw tooLarge(size);
    bytes = await vscode.workspace.fs.readFile(uri);
  } catch (error) {
    if (error instanceof AnalysisError) throw error;
    throw new AnalysisError('invalid-document', vscode.l10n.t('Could not read {0}: {1}', name, messageOf(error)));
  }
  if (bytes.byteLength > MAX_ATTENTION_TEXT_BYTES) throw tooLarge(bytes.byteLength);
  return bytes;
}

/** Where the worker finds a file: on this machine's disk itself, else the text the host read for it. */
async function workerSource(uri: vscode.Uri): Promise<AttentionSource> {
  return uri.scheme === 'file' ? { kind: 'file', path: uri.fsPath } : { kind: 'text', text: await readAttentionFileText(uri) };
}

/** The handlers every attention viewer's page gets: its translations, open in the panel, export. */
export function viewerHandlers(
  actions: AttentionViewerActions,
  log: vscode.LogOutputChannel,
  resolve: (
    source: OutputSource,
    title: string,
  ) => Promise<{ source: AttentionSource; documentName: string }> | { source: AttentionSource; documentName: string },
): RequestHandlers<OutputHost['requests']> {
  return {
    l10nBundle: () => ({ contents: vscode.l10n.bundle ? JSON.stringify(vscode.l10n.bundle) : null }),
    openInPanel: async ({ source, attention, title }, { signal }) => {
      const resolved = await resolve(source, title);
      await actions.openInPanel({ ...resolved, attention }, signal);
      return { opened: true };
    },
    export: ({ format, suggestedName, content }) => saveExport(format, suggestedName, content, log),
  };
}

export class AttentionFileEditorProvider implements vscode.CustomReadonlyEditorProvider {
  private readonly channels = new Map<string, Set<WebviewChannel<OutputWebview, OutputHost>>>();
  /** The extension-host suite's way through an editor page's path. */
  private readonly probe = new PageProbe((event, payload) => {
    if (event === 'showDocument') {
      const { bytes, name } = payload as { bytes: Uint8Array; name: string };
      return { name, length: bytes.byteLength };
    }
    return event === 'showError' ? payload : undefined;
  });

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly actions: AttentionViewerActions,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): void {
    const { uri } = document;
    const name = fileNameOf(uri);
    const key = uri.toString();
    const resolve = async (source: OutputSource) => ({
      // A page that sends its parsed copy is taken at its word (the worker checks it as any document).
      source: source.kind === 'document' ? source : await workerSource(uri),
      documentName: name,
    });
    const channel: WebviewChannel<OutputWebview, OutputHost> = openWebviewChannel<OutputWebview, OutputHost>({
      owner: panel,
      load: webviewLoader(this.extensionUri),
      page: { script: 'attentionFile', stylesheet: 'attentionFile', title: name },
      name: 'attention file editor',
      log: this.log,
      local: OUTPUT_HOST,
      handlers: viewerHandlers(this.actions, this.log, resolve),
      events: { ready: () => void this.sendDocument(uri, channel) },
      tap: this.probe.observe,
      onDispose: () => {
        const open = this.channels.get(key);
        open?.delete(channel);
        if (open?.size === 0) this.channels.delete(key);
      },
    });
    let open = this.channels.get(key);
    if (!open) this.channels.set(key, (open = new Set()));
    open.add(channel);
  }

  /**
   * Handles a message as if the page of the editor of `uri` had posted it, and answers as it would be answered
   * (the extension-host suite; the page itself is the lead's webview bundle).
   */
  requestAsPage(uri: vscode.Uri, method: string, params: unknown): Promise<unknown> {
    const channel = this.channels.get(uri.toString())?.values().next().value;
    return this.probe.request(channel && ((message) => channel.rpc.receive(message)), method, params);
  }

  /** Delivers an event as if the editor page of `uri` had sent it; false if no such editor is open or it was dropped. */
  receiveAsPage(uri: vscode.Uri, message: unknown): boolean {
    return this.channels.get(uri.toString())?.values().next().value?.rpc.receive(message) ?? false;
  }

  /** What an editor page was last sent: `showDocument` (its name and length) or `showError`. */
  lastSent(event: 'showDocument' | 'showError'): unknown {
    return this.probe.lastEvent(event);
  }

  private async sendDocument(uri: vscode.Uri, channel: WebviewChannel<OutputWebview, OutputHost>): Promise<void> {
    try {
      // The bytes, not a string: VS Code sends them to the page as binary, and the page decodes and parses them
      // (a 100 MB string would be serialised as JSON on the extension host's thread).
      const read = await readAttentionFileBytes(uri);
      // A plain Uint8Array view (no copy): VS Code revives typed arrays by their constructor, and the file system
      // may hand back a Node Buffer.
      const bytes = new Uint8Array(read.buffer, read.byteOffset, read.byteLength);
      channel.rpc.notify('showDocument', { bytes, name: fileNameOf(uri) });
    } catch (error) {
      this.log.warn(`Could not show ${uri.toString(true)}: ${messageOf(error)}`);
      channel.rpc.notify('showError', { message: messageOf(error).slice(0, 4096) });
    }
  }
}
