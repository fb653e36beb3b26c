/**
 * Run by test/unit/telemetry.test.ts in a child process whose environment does not switch onnxruntime's telemetry
 * off: one analysis through the extension's worker client and the real dist/worker.js, as the extension host runs it.
 *   tsx test/support/workerTelemetryProbe.ts MODEL_FOLDER STORAGE_DIR
 */
import * as path from 'node:path';
import { AnalysisWorkerClient } from '../../src/model/analysisWorker';
import { repoRoot } from './paths';

async function main(): Promise<void> {
  const [folder, storageDir] = process.argv.slice(2) as [string, string];
  const client = new AnalysisWorkerClient(path.join(repoRoot, 'dist', 'worker.js'), {
    info: () => undefined,
    warn: console.warn,
    error: console.error,
  });
  const result = await client.request('analyze', {
    analysisId: 'probe',
    request: { source: { kind: 'folder', folder }, dtype: 'fp32', offline: true, storageDir },
    text: 'Nothing leaves this machine.',
  });
  console.log(`analysed ${result.tokens.length} tokens`);
  await client.dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
