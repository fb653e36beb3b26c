import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { activateExtension } from './helpers';

interface Contributions {
  commands: Array<{ command: string; title: string; category: string }>;
  menus: Record<string, Array<{ command: string; when?: string }>>;
  keybindings: Array<{ command: string; key: string; when?: string }>;
}

suite('Commands', () => {
  test('Analyze Selection is registered and contributed to the palette (with a selection), the context menu and a keybinding', async () => {
    const { extension } = await activateExtension();
    const registered = await vscode.commands.getCommands(true);
    assert.ok(registered.includes('attentionExplorer.analyzeSelection'), 'command registered');
    assert.ok(registered.includes('attentionExplorer.showLog'), 'show log registered');

    const contributes = (extension.packageJSON as { contributes: Contributions }).contributes;
    const command = contributes.commands.find((entry) => entry.command === 'attentionExplorer.analyzeSelection');
    assert.ok(command, 'command contributed');
    const palette = contributes.menus['commandPalette']?.find((entry) => entry.command === command.command);
    assert.equal(palette?.when, 'editorHasSelection');
    const contextMenu = contributes.menus['editor/context']?.find((entry) => entry.command === command.command);
    assert.equal(contextMenu?.when, 'editorHasSelection');
    const keybinding = contributes.keybindings.find((entry) => entry.command === command.command);
    assert.equal(keybinding?.key, 'ctrl+alt+a');
  });

  test('every contributed command is registered by activation (the startup bundle registers them all)', async () => {
    const { extension } = await activateExtension();
    const registered = new Set(await vscode.commands.getCommands(true));
    const contributed = (extension.packageJSON as { contributes: Contributions }).contributes.commands.map((entry) => entry.command);
    assert.ok(contributed.length >= 14, `${contributed.length} commands contributed`);
    assert.deepEqual(
      contributed.filter((command) => !registered.has(command)),
      [],
    );
  });

  test('titles are localised through package.nls.json with the "Attention Explorer" category', async () => {
    const { extension } = await activateExtension();
    const commands = (extension.packageJSON as { contributes: Contributions }).contributes.commands;
    // VS Code substitutes %keys% from package.nls.json when it reads the manifest.
    const analyze = commands.find((entry) => entry.command === 'attentionExplorer.analyzeSelection');
    assert.equal(analyze?.title, 'Analyze Selection');
    assert.equal(analyze?.category, 'Attention Explorer');
  });
});
