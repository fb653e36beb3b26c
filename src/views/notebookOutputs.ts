/**
 * The host's side of the notebook renderer for `application/vnd.attention-explorer.attention+json`: the renderer
 * shows an output's maps itself and asks the host, over the renderer messaging channel, to move one into the panel or
 * to save an export. Each notebook editor gets its own RPC channel (the same protocol as the `.attention.json`
 * editor's page), closed when the editor goes away; its messages are JSON, so exports carry base64 rather than bytes.
 */
import * as vscode from 'vscode';
import type { AttentionSource } from '../model/attentionImport';
import { DisposableStore } from '../shared/disposables';
import { AnalysisError } from '../shared/errors';
import { OUTPUT_HOST, type OutputHost, type OutputSource, type OutputWebview } from '../shared/outputProtocol';
import type { RpcChannel } from '../shared/rpc';
import { viewerHandlers, type AttentionViewerActions } from './attentionFileEditor';
import { pageRpc, PageProbe } from './webviewChannel';

export class NotebookOutputs implements vscode.Disposable {
  private readonly channels = new Map<vscode.NotebookEditor, RpcChannel<OutputWebview, OutputHost>>();
  private readonly subscriptions = new DisposableStore();
  private readonly probe = new PageProbe();

  /** `messaging`: the renderer's, whose messages the startup bundle hands to {@link receive}. */
  constructor(
    private readonly actions: AttentionViewerActions,
    private readonly log: vscode.LogOutputChannel,
    private readonly messaging: vscode.NotebookRendererMessaging | undefined,
  ) {
    // An editor that is no longer shown is gone (VS Code makes a new one when its notebook is shown again).
    this.subscriptions.add(
      vscode.window.onDidChangeVisibleNotebookEditors((visible) => {
        for (const editor of [...this.channels.keys()]) if (!visible.includes(editor)) this.close(editor);
      }),
    );
    this.subscriptions.addCallback(() => {
      for (const editor of [...this.channels.keys()]) this.close(editor);
    });
  }

  /** Notebook editors with an open channel (the extension-host suite checks that closing an editor closes its own). */
  get openChannels(): number {
    return this.channels.size;
  }

  /** Handles a message as if an output of `editor` had posted it; false when it was dropped. */
  receive(editor: vscode.NotebookEditor, message: unknown): boolean {
    return this.channelOf(editor).receive(message);
  }

  /** Asks as an output of `editor` would, and resolves with the answer it would get (the extension-host suite). */
  requestAsOutput(editor: vscode.NotebookEditor, method: string, params: unknown): Promise<unknown> {
    return this.probe.request((message) => this.receive(editor, message), method, params);
  }

  dispose(): void {
    this.subscriptions.dispose();
  }

  private channelOf(editor: vscode.NotebookEditor): RpcChannel<OutputWebview, OutputHost> {
    let channel = this.channels.get(editor);
    if (!channel) {
      const resolve = (source: OutputSource, title: string) => this.resolve(editor, source, title);
      channel = pageRpc<OutputWebview, OutputHost>({
        name: 'notebook output',
        log: this.log,
        local: OUTPUT_HOST,
        handlers: viewerHandlers(this.actions, this.log, resolve),
        events: {},
        tap: this.probe.observe,
        post: (message) => void this.messaging?.postMessage(message, editor),
      });
      this.channels.set(editor, channel);
    }
    return channel;
  }

  private resolve(editor: vscode.NotebookEditor, source: OutputSource, title: string): { source: AttentionSource; documentName: string } {
    if (source.kind !== 'document') {
      throw new AnalysisError('invalid-request', vscode.l10n.t('A notebook output carries its attention itself: send the document.'));
    }
    const notebook = editor.notebook.uri.path.split('/').pop() || editor.notebook.uri.toString(true);
    // The output's own title ("notes.ipynb, cell 3") where it names this notebook; the notebook's name otherwise.
    const documentName = title.startsWith(notebook) ? title.slice(0, 200) : vscode.l10n.t('{0}, output', notebook);
    return { source, documentName };
  }

  private close(editor: vscode.NotebookEditor): void {
    this.channels.get(editor)?.close(new AnalysisError('cancelled', 'The notebook editor was closed.'));
    this.channels.delete(editor);
  }
}
