/**
 * onnxruntime-node 1.30 has telemetry on Linux: unless ORT_DISABLE_TELEMETRY is in the process's real environment,
 * creating a session writes `Microsoft/DeveloperTools/.onnxruntime/{deviceid,onnxruntime.db}` under the XDG cache
 * folder and uploads events. transformers.js sets the variable when it is imported, but inside a worker thread that
 * only changes the thread's copy of process.env; the extension's worker client must set it for real.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/paths';
import { ensureTestModel } from '../support/testModels';

describe('privacy', () => {
  it('an analysis in the worker thread leaves no onnxruntime telemetry files behind', () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-xdg-cache-'));
    const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-storage-'));
    const { ORT_DISABLE_TELEMETRY: _ignored, ...environment } = process.env;
    const result = spawnSync(
      path.join(repoRoot, 'node_modules', '.bin', 'tsx'),
      [path.join(repoRoot, 'test', 'support', 'workerTelemetryProbe.ts'), ensureTestModel('tiny'), storage],
      {
        cwd: repoRoot,
        env: { ...environment, XDG_CACHE_HOME: cache },
        encoding: 'utf8',
      },
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('analysed 7 tokens');
    expect(fs.readdirSync(cache, { recursive: true })).toEqual([]);
    fs.rmSync(cache, { recursive: true, force: true });
    fs.rmSync(storage, { recursive: true, force: true });
  });
});
