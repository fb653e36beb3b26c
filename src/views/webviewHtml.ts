/**
 * The HTML shell of every webview: a strict Content Security Policy with a fresh nonce per load, only local
 * resources (through `asWebviewUri`), no inline script or style.
 */
import * as vscode from 'vscode';
import { buildWebviewHtml, type WebviewPage } from './webviewPage';

/** Folders a webview may load from: the webview bundles and the stylesheets, nothing else. */
export function webviewResourceRoots(extensionUri: vscode.Uri): vscode.Uri[] {
  return [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')];
}

export function renderWebviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: WebviewPage): string {
  return buildWebviewHtml({
    cspSource: webview.cspSource,
    // Web Crypto (a global): node:crypto would load at activation for this one call.
    nonce: Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString('base64'),
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${page.script}.js`)).toString(),
    styleUris: ['common', page.stylesheet].map((name) =>
      webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', `${name}.css`)).toString(),
    ),
    language: vscode.env.language || 'en',
    title: page.title,
    page: page.script,
    ...(vscode.l10n.bundle ? { l10nBundle: JSON.stringify(vscode.l10n.bundle) } : {}),
  });
}

/** Loads a page into a webview: scripts on, only the extension's webview bundles and stylesheets reachable. */
export function webviewLoader(extensionUri: vscode.Uri): (webview: vscode.Webview, page: WebviewPage) => void {
  return (webview, page) => {
    webview.options = { enableScripts: true, localResourceRoots: webviewResourceRoots(extensionUri) };
    webview.html = renderWebviewHtml(webview, extensionUri, page);
  };
}
