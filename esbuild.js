// @ts-check
/**
 * Builds every bundle of the extension.
 *
 *   node esbuild.js                 development build (source maps)
 *   node esbuild.js --production    minified, no source maps (what the VSIX ships)
 *   node esbuild.js --watch         rebuild on change
 *
 * Bundles: the extension host (`dist/extension.js`), the analysis worker (`dist/worker.js`), the webview scripts
 * (`dist/webview/*.js`) and the extension-host test suite (`dist/test/suite.js`, development builds only).
 */
const esbuild = require('esbuild');
const path = require('node:path');

const fs = require('node:fs');

const production = process.argv.includes('--production');

/**
 * transformers.js embeds onnxruntime-web, whose Emscripten glue (embind's emval method callers) builds functions from
 * strings with `new Function`. That code only runs on the WebAssembly backend; in Node the model runs on
 * onnxruntime-node. The call is replaced by one that throws, so the shipped bundles contain no dynamic code at all
 * (a unit test scans them). The build fails if the pattern is no longer found, so an update cannot slip it back in.
 * @type {import('esbuild').Plugin}
 */
const noDynamicCodePlugin = {
  name: 'no-dynamic-code',
  setup(build) {
    build.onLoad({ filter: /[\\/]@huggingface[\\/]transformers[\\/]dist[\\/]transformers\.node\.mjs$/ }, async (args) => {
      const source = await fs.promises.readFile(args.path, 'utf8');
      const pattern = /new Function\(Object\.keys\((\w+)\),\s*(\w+)\)\(\.\.\.Object\.values\(\1\)\)/g;
      const patched = source.replace(pattern, '__attentionExplorerNoDynamicCode()');
      if (patched === source || /new Function\(|\beval\(/.test(patched)) {
        return {
          errors: [
            { text: `${args.path}: the dynamic-code call site this build removes has changed; update noDynamicCodePlugin in esbuild.js.` },
          ],
        };
      }
      const stub =
        'function __attentionExplorerNoDynamicCode() { throw new Error("onnxruntime-web\'s WebAssembly glue is not available in Attention Explorer (the model runs on onnxruntime-node)."); }\n';
      return { contents: stub + patched, loader: 'js', resolveDir: path.dirname(args.path) };
    });
  },
};
const watch = process.argv.includes('--watch');

/**
 * onnxruntime-node is loaded by transformers.js through `createRequire(...)`, which esbuild cannot follow: it stays
 * external and ships in the VSIX's node_modules. sharp is only needed for image inputs, which we never have; it is
 * replaced by a stub so that its native binaries are not needed at all.
 * @type {import('esbuild').BuildOptions}
 */
const nodeOptions = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode', 'onnxruntime-node'],
  alias: { sharp: path.join(__dirname, 'src', 'model', 'sharpUnavailable.cjs') },
  sourcemap: !production,
  minify: production,
  // transformers.js's bundled onnxruntime-web code is never used in Node; keep its noise out of the log.
  logOverride: { 'empty-import-meta': 'silent', 'direct-eval': 'silent' },
  define: { 'process.env.NODE_ENV': production ? '"production"' : '"development"' },
  legalComments: 'linked',
  plugins: [noDynamicCodePlugin],
};

/** @type {import('esbuild').BuildOptions[]} */
const builds = [
  {
    ...nodeOptions,
    // The startup bundle, the rest of the extension (loaded on first use) and the analysis worker.
    entryPoints: { extension: 'src/extension.ts', features: 'src/features.ts', worker: 'src/model/worker/main.ts' },
    outdir: 'dist',
    // The extension reports how long its bundle took to evaluate (activation time, measured by npm run bench).
    banner: { js: '"use strict";\nconst __attnBundleStart = performance.now();' },
    footer: { js: 'const __attnBundleEnd = performance.now();' },
  },
  {
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'chrome110',
    entryPoints: { panel: 'webview/panel/main.ts', side: 'webview/side/main.ts', attentionFile: 'webview/attentionFile/main.ts' },
    outdir: 'dist/webview',
    sourcemap: !production,
    minify: production,
    legalComments: 'linked',
  },
  {
    // VS Code loads a notebook renderer as an ES module (its `activate` export) into the notebook's output webview.
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'chrome110',
    entryPoints: { notebook: 'webview/notebook/renderer.ts' },
    // Its stylesheets travel inside the bundle (adopted by each output's shadow root).
    loader: { '.css': 'text' },
    outdir: 'dist/webview',
    sourcemap: !production,
    minify: production,
    legalComments: 'linked',
  },
];

if (!production) {
  builds.push({
    ...nodeOptions,
    // mocha is resolved from the repository's node_modules: the suite only ever runs from a checkout.
    external: [...(nodeOptions.external ?? []), 'mocha'],
    entryPoints: { suite: 'test/suite/index.ts' },
    outdir: 'dist/test',
  });
}

/** @type {import('esbuild').Plugin} */
const reportPlugin = {
  name: 'report',
  setup(build) {
    build.onEnd((result) => {
      const label = Object.keys(/** @type {Record<string,string>} */ (build.initialOptions.entryPoints)).join(', ');
      if (result.errors.length > 0) {
        console.error(`[esbuild] ${label}: ${result.errors.length} error(s)`);
      } else if (watch) {
        console.log(`[esbuild] ${label}: rebuilt`);
      }
    });
  },
};

/**
 * Lists the npm packages the production bundles contain (build/bundled-packages.json), so the packaging script can
 * write every bundled package's licence without a hand-kept list going stale.
 * @param {import('esbuild').BuildResult[]} results
 */
function writeBundledPackages(results) {
  const names = new Set();
  for (const result of results) {
    for (const input of Object.keys(result.metafile?.inputs ?? {})) {
      const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
      if (match?.[1]) names.add(match[1]);
    }
  }
  const fs = require('node:fs');
  fs.mkdirSync(path.join(__dirname, 'build'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'build', 'bundled-packages.json'), `${JSON.stringify([...names].sort(), null, 2)}\n`);
}

async function main() {
  const contexts = await Promise.all(
    builds.map((options) => esbuild.context({ ...options, metafile: production, plugins: [...(options.plugins ?? []), reportPlugin] })),
  );
  if (watch) {
    await Promise.all(contexts.map((context) => context.watch()));
    console.log('[esbuild] watching for changes');
    return;
  }
  try {
    const results = await Promise.all(contexts.map((context) => context.rebuild()));
    if (production) writeBundledPackages(results);
  } finally {
    await Promise.all(contexts.map((context) => context.dispose()));
  }
  console.log(`[esbuild] ${production ? 'production' : 'development'} build done`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
