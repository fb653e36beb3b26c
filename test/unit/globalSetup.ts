/**
 * Builds the bundles once before the unit tests: the worker tests run the real `dist/worker.js`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { disableOnnxRuntimeTelemetry } from '../../src/model/telemetry';
import { repoRoot, sharedTokenizerDir } from '../support/paths';

export default function setup(): void {
  // Tests that load onnxruntime in their own process; the forks inherit this. (cli.test.ts checks that the command
  // line switches it off by itself.)
  disableOnnxRuntimeTelemetry();
  if (!existsSync(path.join(sharedTokenizerDir, 'tokenizer.json'))) {
    throw new Error(
      `The shared tokenizer is missing at ${sharedTokenizerDir}; set ATTN_SHARED_DIR to the folder that holds models/ and goldens/.`,
    );
  }
  execFileSync(process.execPath, [path.join(repoRoot, 'esbuild.js')], { cwd: repoRoot, stdio: 'inherit' });
}
