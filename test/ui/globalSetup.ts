/**
 * Starts one code-server for the UI tests with the packaged VSIX installed (not the development folder), in an
 * isolated state folder, with a copy of the fixture workspace the tests may change.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestProject } from 'vitest/node';
import { installExtension, startCodeServer } from '../../scripts/lib/codeServer';
import { LoopbackHub } from '../../scripts/lib/loopbackHub';
import { pythonCommand, repoRoot } from '../support/paths';
import { ensureTestModel } from '../support/testModels';

/** The test model as the extension downloads it: from a loopback hub, under a hub-style id. */
export const UI_TEST_MODEL_ID = 'attention-explorer/tiny-distilbert';
/** The other families' test models on the same hub (Select Model switches to them by id). */
export const UI_FAMILY_MODELS = {
  ner: { id: 'attention-explorer/tiny-bert-ner', family: 'bert', task: 'token-classification' },
  fillMask: { id: 'attention-explorer/tiny-bert-fill-mask', family: 'bert', task: 'fill-mask' },
  sentiment: { id: 'attention-explorer/tiny-roberta-sentiment', family: 'roberta', task: 'text-classification' },
} as const;

/** A Qwen3-shaped language model in onnxruntime-genai's fused style (GroupQueryAttention, 4 query / 2 KV heads). */
export const UI_DECODER_MODEL = { id: 'attention-explorer/tiny-qwen3-fused', family: 'qwen3', attention: 'fused' } as const;

/** A notebook whose stored outputs the Python package wrote (cells: show, head_view, an encoder-decoder model_view). */
export const NOTEBOOK_FIXTURE = 'attention.ipynb';
/** The first code cell 40 times over: a notebook with many outputs. */
export const MANY_OUTPUTS_FIXTURE = 'many-outputs.ipynb';
export const MANY_OUTPUTS = 40;
/** The first output's document, saved as an attention file. */
export const ATTENTION_FILE_FIXTURE = 'bert-like.attention.json';

declare module 'vitest' {
  export interface ProvidedContext {
    codeServerUrl: string;
    hubUrl: string;
    workspaceFolder: string;
    userDataDir: string;
    artifactsDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const vsix = process.env.ATTN_VSIX;
  if (!vsix || !fs.existsSync(vsix)) {
    throw new Error('ATTN_VSIX must point at a packaged VSIX (run through scripts/run-ui-tests.ts).');
  }
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-ui-'));
  installExtension(vsix, stateDir);
  const workspaceFolder = path.join(stateDir, 'workspace');
  fs.cpSync(path.join(repoRoot, 'test', 'fixtures', 'workspace'), workspaceFolder, { recursive: true });
  writeNotebookFixtures(workspaceFolder);
  const hub = await LoopbackHub.start([
    { id: UI_TEST_MODEL_ID, folder: ensureTestModel('tiny') },
    ...Object.values(UI_FAMILY_MODELS).map(({ id, family, task }) => ({
      id,
      folder: ensureTestModel('tiny', 42, ['fp32', 'q8'], { family, task }),
    })),
    {
      id: UI_DECODER_MODEL.id,
      folder: ensureTestModel('tiny', 42, ['fp32'], { family: UI_DECODER_MODEL.family, attention: UI_DECODER_MODEL.attention }),
    },
  ]);
  // Slow enough (about 3 s for the 4 MB graph) that the download notification can be seen and read.
  hub.addFault({ model: UI_TEST_MODEL_ID, file: /model\.onnx$/, fault: { kind: 'slow', bytesPerSecond: 1_500_000 } });
  const server = await startCodeServer({
    stateDir,
    folder: workspaceFolder,
    machineSettings: { 'attentionExplorer.model': UI_TEST_MODEL_ID, 'attentionExplorer.hubUrl': hub.url },
  });
  const artifactsDir = path.join(repoRoot, 'artifacts', 'ui');
  fs.mkdirSync(artifactsDir, { recursive: true });
  project.provide('codeServerUrl', server.url);
  project.provide('hubUrl', hub.url);
  project.provide('workspaceFolder', workspaceFolder);
  project.provide('userDataDir', server.userDataDir);
  project.provide('artifactsDir', artifactsDir);
  console.log(`[ui] code-server ${server.version} on ${server.url} with ${path.basename(vsix)}`);
  return async () => {
    await server.stop();
    await hub.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  };
}

/**
 * The notebook and the attention file the notebook tests open, written now by the Python package (its outputs are
 * what the renderer must draw), before code-server indexes the workspace (quick open finds only files there then).
 */
function writeNotebookFixtures(workspaceFolder: string): void {
  const python = path.join(repoRoot, 'python');
  const env = { ...process.env, PYTHONPATH: python, PYTHONDONTWRITEBYTECODE: '1' };
  execFileSync(pythonCommand, [path.join(python, 'examples', 'make_notebook.py'), path.join(workspaceFolder, NOTEBOOK_FIXTURE)], {
    env,
    stdio: 'inherit',
  });
  const script = [
    'import json, sys',
    'import attention_explorer as ae',
    'nb = json.load(open(sys.argv[1]))',
    'doc = nb["cells"][1]["outputs"][0]["data"][ae.MIME_TYPE]',
    'open(sys.argv[2], "w").write(json.dumps(doc))',
  ].join('\n');
  execFileSync(
    pythonCommand,
    ['-c', script, path.join(workspaceFolder, NOTEBOOK_FIXTURE), path.join(workspaceFolder, ATTENTION_FILE_FIXTURE)],
    { env, stdio: 'inherit' },
  );
  const notebook = JSON.parse(fs.readFileSync(path.join(workspaceFolder, NOTEBOOK_FIXTURE), 'utf8')) as { cells: Array<{ id: string }> };
  const cell = notebook.cells[1]!;
  const many = { ...notebook, cells: Array.from({ length: MANY_OUTPUTS }, (_, index) => ({ ...cell, id: `output-${index}` })) };
  fs.writeFileSync(path.join(workspaceFolder, MANY_OUTPUTS_FIXTURE), JSON.stringify(many, null, 1));
}
