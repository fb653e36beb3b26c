/**
 * The webview HTML template, free of `vscode` so that it can be tested on its own.
 */

/** One of the extension's pages. */
export interface WebviewPage {
  /** Bundle name under dist/webview (without `.js`). */
  script: string;
  /** The page's own stylesheet under media (without `.css`); media/common.css comes first. */
  stylesheet: string;
  title: string;
}
export interface WebviewPageParts {
  /** `webview.cspSource`: the origin webview resources are served from. */
  cspSource: string;
  /** A fresh random value per page load; only scripts carrying it run. */
  nonce: string;
  scriptUri: string;
  /** Stylesheets in order: the shared one first, then the page's own. */
  styleUris: string[];
  language: string;
  title: string;
  /** Which page this is (`panel`, `side`): marks the document so that tests and tools can tell webviews apart. */
  page: string;
  /** The translations VS Code loaded for the display language (`vscode.l10n.bundle`), as JSON; absent in English. */
  l10nBundle?: string;
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `style-src ${cspSource}`,
    `img-src ${cspSource} data: blob:`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

export function buildWebviewHtml(parts: WebviewPageParts): string {
  return `<!DOCTYPE html>
<html lang="${escapeAttribute(parts.language)}">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttribute(contentSecurityPolicy(parts.cspSource, parts.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${parts.styleUris.map((uri) => `<link rel="stylesheet" href="${escapeAttribute(uri)}">`).join('\n')}
<title>${escapeText(parts.title)}</title>
</head>
<body>
<main id="app" data-page="${escapeAttribute(parts.page)}"${parts.l10nBundle ? ` data-l10n="${escapeAttribute(parts.l10nBundle)}"` : ''} aria-busy="true"><p class="empty">…</p></main>
<script nonce="${escapeAttribute(parts.nonce)}" src="${escapeAttribute(parts.scriptUri)}"></script>
</body>
</html>`;
}

function escapeText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttribute(value: string): string {
  return escapeText(value).replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
