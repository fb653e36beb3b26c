/**
 * Loads the extension's translations into `@vscode/l10n` for this page. The host writes the bundle VS Code loaded
 * for the display language (`vscode.l10n.bundle`) into the page (`data-l10n` on `#app`); English has none, and
 * `l10n.t` then returns the English text. Imported first by every webview entry point, so that the bundle is in place
 * before any module calls `l10n.t`.
 */
import * as l10n from '@vscode/l10n';

const raw = document.getElementById('app')?.dataset.l10n;
if (raw) {
  try {
    l10n.config({ contents: raw });
  } catch {
    // An unreadable bundle leaves the page in English rather than blank.
  }
}
