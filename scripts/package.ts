/**
 * Builds a production VSIX for one platform.
 *
 *   npm run package [-- --target linux-x64]
 *
 * The target defaults to this machine's platform. Only that platform's onnxruntime-node binaries go in; the
 * script prints the VSIX's size (goal ≤ 40 MB) and its file count, and writes it to build/.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { recordCase } from '../test/support/reliability';
import { repoRoot } from '../test/support/paths';

const TARGETS: Record<string, { platform: string; arch: string }> = {
  'linux-x64': { platform: 'linux', arch: 'x64' },
  'linux-arm64': { platform: 'linux', arch: 'arm64' },
  'darwin-arm64': { platform: 'darwin', arch: 'arm64' },
  'win32-x64': { platform: 'win32', arch: 'x64' },
  'win32-arm64': { platform: 'win32', arch: 'arm64' },
};

const SIZE_GOAL_BYTES = 40 * 1024 * 1024;

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

/**
 * The model is downloaded at run time, not bundled, but its licence travels with the extension that fetches it: the
 * notice and the Apache License 2.0 text (the same text transformers.js ships as its LICENSE).
 */
export const MODEL_NOTICE = [
  'The model',
  '=========',
  'Attention Explorer downloads, at run time, the model distilbert-base-uncased-finetuned-sst-2-english by Hugging Face',
  '(https://huggingface.co/distilbert/distilbert-base-uncased-finetuned-sst-2-english), in its ONNX conversion for',
  'transformers.js, Xenova/distilbert-base-uncased-finetuned-sst-2-english. The model, its weights and its tokenizer are',
  'licensed under the Apache License, Version 2.0, whose text follows. They are not part of this package; the files are',
  'fetched from the configured hub (or read from a folder you choose) and used unmodified, except that Attention Explorer',
  'writes an instrumented copy of the ONNX graph beside them that also outputs the attention weights.',
].join('\n');

/** Licences of what the VSIX bundles, gathered from the installed packages at build time (not committed). */
function writeThirdPartyNotices(file: string): void {
  // What esbuild put in the bundles, plus what ships beside them in node_modules.
  const bundled = JSON.parse(fs.readFileSync(path.join(repoRoot, 'build', 'bundled-packages.json'), 'utf8')) as string[];
  // transformers.js's prebuilt dist embeds its tokenizer, template and web-runtime dependencies.
  const embeddedInTransformers = ['@huggingface/jinja', '@huggingface/tokenizers', 'onnxruntime-web'];
  const packages = [...new Set([...bundled, ...embeddedInTransformers, 'onnxruntime-node', 'onnxruntime-common'])].sort();
  const sections = packages.map((name) => {
    const folder = path.join(repoRoot, 'node_modules', name);
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'package.json'), 'utf8')) as { version: string; license?: string };
    const licenseFile = ['LICENSE', 'LICENSE.md', 'LICENSE.txt']
      .map((candidate) => path.join(folder, candidate))
      .find((candidate) => fs.existsSync(candidate));
    const text = licenseFile ? fs.readFileSync(licenseFile, 'utf8').trim() : `Licensed under ${manifest.license ?? 'see the package'}.`;
    return `${name} ${manifest.version} (${manifest.license ?? 'unknown'})\n${'-'.repeat(60)}\n${text}\n`;
  });
  fs.writeFileSync(
    file,
    `Attention Explorer bundles the following packages.\n\n${sections.join('\n')}\n` +
      `${MODEL_NOTICE}\n${'-'.repeat(60)}\n${fs.readFileSync(path.join(repoRoot, 'node_modules', '@huggingface', 'transformers', 'LICENSE'), 'utf8').trim()}\n`,
  );
}

function main(): void {
  const target = argument('--target') ?? `${process.platform}-${process.arch}`;
  const platform = TARGETS[target];
  if (!platform) {
    throw new Error(`Unknown target ${target}; use one of ${Object.keys(TARGETS).join(', ')}`);
  }
  const binaries = path.join('node_modules', 'onnxruntime-node', 'bin', 'napi-v6', platform.platform, platform.arch);
  if (!fs.existsSync(path.join(repoRoot, binaries))) {
    throw new Error(`onnxruntime-node has no binaries for ${target} (${binaries})`);
  }

  // A failed run must not leave an older VSIX where the UI tests and `npm start` look for one.
  const buildDir = path.join(repoRoot, 'build');
  fs.rmSync(path.join(buildDir, 'latest-vsix.txt'), { force: true });
  fs.rmSync(path.join(repoRoot, 'dist'), { recursive: true, force: true });
  execFileSync(process.execPath, [path.join(repoRoot, 'esbuild.js'), '--production'], { cwd: repoRoot, stdio: 'inherit' });

  fs.mkdirSync(buildDir, { recursive: true });
  writeThirdPartyNotices(path.join(repoRoot, 'dist', 'ThirdPartyNotices.txt'));
  const ignoreFile = path.join(buildDir, `vscodeignore-${target}`);
  fs.writeFileSync(
    ignoreFile,
    `${fs.readFileSync(path.join(repoRoot, '.vscodeignore'), 'utf8')}!${binaries.split(path.sep).join('/')}/**\n`,
  );

  const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string };
  const out = path.join(buildDir, `${manifest.name}-${manifest.version}-${target}.vsix`);
  fs.rmSync(out, { force: true });
  const vsce = path.join(repoRoot, 'node_modules', '@vscode', 'vsce', 'vsce');
  // README images stay relative: they ship in the VSIX, where VS Code's extension page resolves them.
  execFileSync(
    process.execPath,
    [vsce, 'package', '--target', target, '--ignoreFile', ignoreFile, '--out', out, '--no-rewrite-relative-links'],
    { cwd: repoRoot, stdio: 'inherit' },
  );
  const size = fs.statSync(out).size;
  const files = countZipEntries(out);
  const megabytes = (size / 1024 / 1024).toFixed(1);
  console.log(
    `[package] ${path.relative(repoRoot, out)}: ${megabytes} MB, ${files} files (goal ≤ 40 MB: ${size <= SIZE_GOAL_BYTES ? 'met' : 'MISSED'})`,
  );
  // The licences must be in the package itself (the central directory names every entry).
  const archive = fs.readFileSync(out);
  for (const required of ['extension/dist/ThirdPartyNotices.txt', 'extension/LICENSE.txt', 'extension/LICENSE']) {
    if (required.startsWith('extension/LICENSE') && !fs.existsSync(path.join(repoRoot, path.basename(required)))) continue;
    if (!archive.includes(Buffer.from(required))) throw new Error(`${path.basename(out)} lacks ${required}`);
  }
  const notices = fs.readFileSync(path.join(repoRoot, 'dist', 'ThirdPartyNotices.txt'), 'utf8');
  if (
    !notices.includes('distilbert-base-uncased-finetuned-sst-2-english') ||
    !notices.includes('Apache License') ||
    !notices.includes('Version 2.0, January 2004')
  ) {
    throw new Error("ThirdPartyNotices.txt lacks the model's Apache-2.0 notice");
  }
  recordCase({
    layer: 'package',
    area: 'Supply chain and privacy',
    case: "the model's licence in the VSIX",
    outcome: `${path.basename(out)} ships dist/ThirdPartyNotices.txt with every bundled package's licence, the model's notice and the Apache License 2.0 text`,
  });
  fs.writeFileSync(path.join(buildDir, 'latest-vsix.txt'), `${out}\n`);
  if (size > SIZE_GOAL_BYTES) {
    process.exitCode = 1;
  }
}

/** Counts the entries of a zip from its end-of-central-directory record. */
function countZipEntries(file: string): number {
  const buffer = fs.readFileSync(file);
  for (let offset = buffer.length - 22; offset >= Math.max(0, buffer.length - 65_557); offset -= 1) {
    if (buffer.readUInt32LE(offset) === 0x06054b50) {
      return buffer.readUInt16LE(offset + 10);
    }
  }
  throw new Error(`${file} is not a zip file`);
}

try {
  main();
} catch (error) {
  console.error(`[package] ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
