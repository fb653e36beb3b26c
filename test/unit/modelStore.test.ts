/**
 * Downloads from a loopback hub: the real fetch, redirect policy, cache and verification code, with faults.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Analyzer } from '../../src/model/analyzer';
import { hubUrlProblem, redactedUrl } from '../../src/model/hubPolicy';
import { hubCacheFolder, isHubModelId, type ModelRequest } from '../../src/model/modelSource';
import { ModelStore, type DownloadProgress } from '../../src/model/modelStore';
import { LoopbackHub } from '../../scripts/lib/loopbackHub';
import { recordCase } from '../support/reliability';
import { ensureTestModel } from '../support/testModels';

const MODEL_ID = 'attention-explorer/tiny-distilbert';
let hub: LoopbackHub;
let cacheDir: string;
let storageDir: string;

function request(overrides: Partial<ModelRequest> = {}): ModelRequest {
  return {
    source: { kind: 'hub', modelId: MODEL_ID, hubUrl: hub.url, revision: 'main', cacheDir },
    dtype: 'fp32',
    offline: false,
    storageDir,
    ...overrides,
  };
}

const folderOf = () => hubCacheFolder({ kind: 'hub', modelId: MODEL_ID, hubUrl: hub.url, revision: 'main', cacheDir });

/** After a failed download: neither the ONNX file nor a temporary file of it in the cache. */
function expectNoOnnxLeft(): void {
  expect(fs.existsSync(path.join(folderOf(), 'onnx', 'model.onnx'))).toBe(false);
  expect(fs.readdirSync(path.join(folderOf(), 'onnx')).filter((name) => name.includes('.tmp'))).toEqual([]);
}

beforeAll(async () => {
  hub = await LoopbackHub.start([{ id: MODEL_ID, folder: ensureTestModel('tiny') }]);
});

afterAll(async () => {
  await hub.close();
});

beforeEach(() => {
  hub.clearFaults();
  hub.requests.length = 0;
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-cache-'));
  storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-storage-'));
});

describe('ModelStore with a hub', () => {
  it('downloads every file once, with byte progress, then works from the cache', async () => {
    const progress: DownloadProgress[] = [];
    const resolved = await new ModelStore().resolve(request(), { onProgress: (event) => progress.push(event) });
    expect(resolved.downloaded).toBe(true);
    const onnxSize = fs.statSync(path.join(ensureTestModel('tiny'), 'onnx', 'model.onnx')).size;
    expect(fs.statSync(resolved.onnxPath).size).toBe(onnxSize);
    const last = progress[progress.length - 1]!;
    expect(last.totalBytes).toBeGreaterThanOrEqual(onnxSize);
    expect(last.loadedBytes).toBe(last.totalBytes);
    expect(progress.some((event) => event.loadedBytes < event.totalBytes)).toBe(true);
    expect(hub.fullDownloadsOf(/model\.onnx$/)).toHaveLength(1);

    hub.requests.length = 0;
    const again = await new ModelStore().resolve(request());
    expect(again.downloaded).toBe(false);
    expect(hub.requests).toEqual([]);
    // And offline, the cache is enough.
    expect((await new ModelStore().resolve(request({ offline: true }))).downloaded).toBe(false);
  });

  it('offline with nothing cached: a clear error naming what is missing', async () => {
    await expect(new ModelStore().resolve(request({ offline: true }))).rejects.toMatchObject({
      code: 'model-unavailable',
      message: expect.stringMatching(/not downloaded yet \(missing config\.json.*\) and offline mode is on/),
    });
    expect(hub.requests).toEqual([]);
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'offline, nothing cached (model store)',
      outcome: 'model-unavailable: names what is missing and that offline mode is on; no request made',
    });
  });

  it('a connection dropped mid-file leaves no file in the cache; the next try downloads it whole', async () => {
    hub.addFault({ file: /model\.onnx$/, fault: { kind: 'drop', afterBytes: 100_000 }, times: 1 });
    await expect(new ModelStore().resolve(request())).rejects.toMatchObject({ code: 'model-unavailable' });
    expectNoOnnxLeft();
    const resolved = await new ModelStore().resolve(request());
    expect(fs.statSync(resolved.onnxPath).size).toBe(fs.statSync(path.join(ensureTestModel('tiny'), 'onnx', 'model.onnx')).size);
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'download killed mid-file (loopback hub drops the connection)',
      outcome: 'fails as model-unavailable; no partial or temporary file left; the next try downloads the file whole',
    });
  });

  it("bytes that do not match the hub's SHA-256 are removed and fetched again on the next try", async () => {
    hub.addFault({ file: /model\.onnx$/, fault: { kind: 'corrupt' }, times: 1 });
    await expect(new ModelStore().resolve(request())).rejects.toMatchObject({
      message: expect.stringMatching(/SHA-256|could not load|Could not download/),
    });
    expect(fs.existsSync(path.join(folderOf(), 'onnx', 'model.onnx'))).toBe(false);
    expect((await new ModelStore().resolve(request())).downloaded).toBe(true);
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'corrupted bytes in a download (SHA-256 mismatch)',
      outcome: 'reported; the file is removed; the next try fetches it again',
    });
  });

  it('a cached file truncated later is detected by its recorded size and fetched again', async () => {
    const resolved = await new ModelStore().resolve(request());
    fs.truncateSync(resolved.onnxPath, 1000);
    hub.requests.length = 0;
    const again = await new ModelStore().resolve(request());
    expect(again.downloaded).toBe(true);
    expect(hub.fullDownloadsOf(/model\.onnx$/)).toHaveLength(1);
    expect(fs.statSync(again.onnxPath).size).toBeGreaterThan(1000);
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'a cached ONNX file truncated after download',
      outcome: 'detected by its recorded size and downloaded again',
    });
  });

  it('HTTP errors and missing files become messages that name the hub and the file', async () => {
    hub.addFault({ file: /model\.onnx$/, fault: { kind: 'status', status: 500 }, methods: ['HEAD', 'GET'] });
    await expect(new ModelStore().resolve(request())).rejects.toMatchObject({
      message: expect.stringContaining(`${hub.url} answered HTTP 500 for onnx/model.onnx`),
    });
    hub.clearFaults();
    await expect(
      new ModelStore().resolve(
        request({ source: { kind: 'hub', modelId: 'nobody/nothing', hubUrl: hub.url, revision: 'main', cacheDir } }),
      ),
    ).rejects.toMatchObject({
      message: expect.stringContaining('has no file config.json for nobody/nothing (HTTP 404)'),
    });
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'hub answers HTTP 500, or 404 for a model',
      outcome: 'messages name the hub, the file and the status',
    });
  });

  it('an unreachable hub is reported as such', async () => {
    const unreachable = 'http://127.0.0.1:9'; // discard port: nothing listens
    await expect(
      new ModelStore().resolve(request({ source: { kind: 'hub', modelId: MODEL_ID, hubUrl: unreachable, revision: 'main', cacheDir } })),
    ).rejects.toMatchObject({
      code: 'model-unavailable',
      message: expect.stringContaining(`Could not reach ${unreachable}`),
    });
    recordCase({ layer: 'unit', area: 'Faults', case: 'hub unreachable', outcome: 'model-unavailable: “Could not reach …”' });
  });

  it('cancelling a slow download stops it and leaves no partial file', async () => {
    hub.addFault({ file: /model\.onnx$/, fault: { kind: 'slow', bytesPerSecond: 400_000 } });
    const abort = new AbortController();
    const pending = new ModelStore().resolve(request(), {
      signal: abort.signal,
      onProgress: (event) => {
        // Abort once the (slowed) ONNX file is well under way.
        if (event.file === 'onnx/model.onnx' && event.loadedBytes > 1_000_000) abort.abort();
      },
    });
    await expect(pending).rejects.toMatchObject({ code: 'cancelled' });
    expect(fs.existsSync(path.join(folderOf(), 'onnx', 'model.onnx'))).toBe(false);
    recordCase({ layer: 'unit', area: 'Faults', case: 'download cancelled mid-file', outcome: 'stops; no partial file left' });
  });

  it('the analyzer runs a hub model end to end (download, instrument, analyse)', async () => {
    const analyzer = new Analyzer();
    const { result } = await analyzer.analyze(request({ dtype: 'q8' }), 'This product is terrible, I want a refund.');
    expect(result.model).toMatchObject({ name: MODEL_ID, dtype: 'q8', quantized: true, isTestModel: true });
    expect(result.tokens.map((token) => token.text)).toContain('terrible');
    await analyzer.dispose();
  });

  it('a cached ONNX file that passes the size check but is not a model: reported, removed, downloaded again', async () => {
    const resolved = await new ModelStore().resolve(request());
    // Same size, garbage bytes: only reading it as ONNX can tell.
    fs.writeFileSync(resolved.onnxPath, Buffer.alloc(fs.statSync(resolved.onnxPath).size, 0x5a));
    const analyzer = new Analyzer();
    const error = await analyzer.analyze(request(), 'Is this a model?').catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'invalid-model',
      message: expect.stringMatching(/not a readable ONNX model.*The cached files were removed; the next analysis downloads them again\./),
    });
    expect(fs.existsSync(resolved.onnxPath)).toBe(false);
    hub.requests.length = 0;
    const { result } = await analyzer.analyze(request(), 'Is this a model?');
    expect(result.tokens.length).toBeGreaterThan(2);
    expect(hub.fullDownloadsOf(/model\.onnx$/)).toHaveLength(1);
    await analyzer.dispose();
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'a corrupt ONNX file in the download cache (right size, wrong bytes)',
      outcome: `reported: “${(error as Error).message.slice(0, 120)}…”; the cached files are removed and the next analysis downloads them again`,
    });
  });
});

describe('hub URLs', () => {
  const secret = 'hf_sEcReT0token';

  it('a hub URL with credentials, a query or a fragment is refused without repeating them, by the store and the settings check', async () => {
    const port = new URL(hub.url).port;
    const withSecrets = [
      `http://user:${secret}@127.0.0.1:${port}`,
      `http://${secret}@127.0.0.1:${port}`,
      `${hub.url}/?token=${secret}`,
      `${hub.url}#${secret}`,
      `https://user:${secret}@huggingface.co`,
    ];
    for (const hubUrl of withSecrets) {
      // The settings check (config.ts reads the setting through these).
      expect(hubUrlProblem(hubUrl), hubUrl).toMatch(/^(credentials|query-or-fragment)$/);
      expect(redactedUrl(hubUrl), hubUrl).not.toContain(secret);
      // The store, for whatever else hands it a hub (the CLI's --hub).
      const error = await new ModelStore()
        .resolve(request({ source: { kind: 'hub', modelId: MODEL_ID, hubUrl, revision: 'main', cacheDir } }))
        .catch((caught: unknown) => caught);
      expect(error, hubUrl).toMatchObject({ code: 'model-unavailable' });
      expect((error as Error).message, hubUrl).not.toContain(secret);
      expect((error as Error).message, hubUrl).toMatch(/credentials|query|fragment/);
    }
    expect(hub.requests).toEqual([]);
    expect(redactedUrl(`htps:/user:${secret}@host`)).not.toContain(secret);
    expect(hubUrlProblem('https://huggingface.co')).toBeUndefined();
    expect(hubUrlProblem(hub.url)).toBeUndefined();
    expect(hubUrlProblem('http://mirror.example.com')).toBe('insecure');
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: 'hub URL with user:token@, ?token= or #fragment (store and settings check)',
      outcome: 'refused as model-unavailable before any request; the message shows the URL without the secret',
    });
  });
});

describe('every file the model needs, verified and capped', () => {
  const EXTERNAL_ID = 'attention-explorer/external-data';

  /** The tiny model with a config.json that declares external data, and the data files it names, beside it. */
  function externalDataModel(declaration: unknown): string {
    const source = ensureTestModel('tiny');
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-external-'));
    for (const file of ['tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', 'onnx/model_quantized.onnx']) {
      fs.mkdirSync(path.dirname(path.join(folder, file)), { recursive: true });
      fs.copyFileSync(path.join(source, file), path.join(folder, file));
    }
    const config = JSON.parse(fs.readFileSync(path.join(source, 'config.json'), 'utf8')) as Record<string, unknown>;
    config['transformers.js_config'] = { use_external_data_format: declaration };
    fs.writeFileSync(path.join(folder, 'config.json'), JSON.stringify(config));
    for (const file of ['onnx/model.onnx_data', 'onnx/model.onnx_data_1', 'onnx/model_quantized.onnx_data']) {
      fs.writeFileSync(path.join(folder, file), Buffer.alloc(200_000, 7));
    }
    return folder;
  }

  const external = (overrides: Partial<ModelRequest> = {}) =>
    request({ source: { kind: 'hub', modelId: EXTERNAL_ID, hubUrl: hub.url, revision: 'main', cacheDir }, ...overrides });

  it('a model whose config.json declares external data files is refused, naming why, before its graph or data is fetched', async () => {
    hub.addRepository({ id: EXTERNAL_ID, folder: externalDataModel(2) });
    const error = await new ModelStore().resolve(external()).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'invalid-model',
      message: expect.stringMatching(/keeps the weights of onnx\/model\.onnx in 2 external data files .*use_external_data_format/),
    });
    const fetched = hub.requests.filter((entry) => entry.method === 'GET').map((entry) => entry.path.replace(/^.*\/resolve\/main\//, ''));
    expect(fetched).toEqual(['config.json']);
    expect(hub.requests.some((entry) => entry.path.includes('onnx_data'))).toBe(false);
    // The same model as a folder on disk.
    await expect(new ModelStore().resolve(request({ source: { kind: 'folder', folder: externalDataModel(true) } }))).rejects.toMatchObject({
      code: 'invalid-model',
      message: expect.stringMatching(/1 external data file /),
    });
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: 'a model whose config.json declares transformers.js_config.use_external_data_format (hub and folder)',
      outcome: `refused as invalid-model before the graph or any onnx_data file is fetched (only config.json, verified): “${(error as Error).message}”`,
    });
  });

  it('external data declared for another dtype only: that dtype is refused, this one loads', async () => {
    hub.addRepository({ id: EXTERNAL_ID, folder: externalDataModel({ 'model_quantized.onnx': 1 }) });
    expect((await new ModelStore().resolve(external())).downloaded).toBe(true);
    await expect(new ModelStore().resolve(external({ dtype: 'q8' }))).rejects.toMatchObject({ code: 'invalid-model' });
    expect(hub.requests.some((entry) => entry.path.includes('onnx_data'))).toBe(false);
  });

  it('a file that goes on past the size the hub announced is cut off at that size and refused', async () => {
    hub.addFault({ file: /model\.onnx$/, fault: { kind: 'endless' } });
    const started = performance.now();
    const error = await new ModelStore().resolve(request()).catch((caught: unknown) => caught);
    const elapsedMs = performance.now() - started;
    const onnxSize = fs.statSync(path.join(ensureTestModel('tiny'), 'onnx', 'model.onnx')).size;
    expect(error).toMatchObject({
      code: 'model-unavailable',
      message: expect.stringContaining(`sent more than the ${onnxSize} bytes it announced for onnx/model.onnx`),
    });
    expectNoOnnxLeft();
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'hub sends the ONNX file and then zeros without end (HEAD announced the true size)',
      outcome: `refused once a byte past the announced size arrives (${(elapsedMs / 1000).toFixed(1)} s); nothing left in the cache`,
    });
  }, 15_000);
});

describe('two windows on one cache folder', () => {
  const manifestOf = () =>
    JSON.parse(fs.readFileSync(path.join(folderOf(), '.attention-explorer-manifest.json'), 'utf8')) as {
      files: Record<string, { size: number; sha256?: string }>;
    };

  it('two stores downloading two dtypes of one model at once both keep their files in the manifest', async () => {
    // Both read the (empty) manifest before either writes it.
    hub.addFault({ file: /\.onnx$/, fault: { kind: 'slow', bytesPerSecond: 8_000_000 } });
    const [fp32, q8] = await Promise.all([new ModelStore().resolve(request()), new ModelStore().resolve(request({ dtype: 'q8' }))]);
    expect(Object.keys(manifestOf().files).sort()).toEqual(
      ['config.json', 'onnx/model.onnx', 'onnx/model_quantized.onnx', 'tokenizer.json', 'tokenizer_config.json'].sort(),
    );
    expect(manifestOf().files['onnx/model.onnx']).toMatchObject({ size: fs.statSync(fp32.onnxPath).size, sha256: expect.any(String) });
    expect(manifestOf().files['onnx/model_quantized.onnx']).toMatchObject({ size: fs.statSync(q8.onnxPath).size });
    hub.requests.length = 0;
    await new ModelStore().resolve(request());
    await new ModelStore().resolve(request({ dtype: 'q8' }));
    expect(hub.requests).toEqual([]);
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'two stores (two windows) download fp32 and q8 of one model into one cache folder at once',
      outcome: 'the manifest is updated under a lock, merged with what is on disk: both ONNX files stay recorded and verified',
    });
  });

  it("the manifest lock: another window's is waited for; one left by a process that is gone is broken", async () => {
    const lock = path.join(folderOf(), '.attention-explorer-manifest.lock');
    fs.mkdirSync(folderOf(), { recursive: true });
    // Held by a live process (this one) for 300 ms.
    fs.writeFileSync(lock, JSON.stringify({ pid: process.pid }));
    let releasedAt = Infinity;
    setTimeout(() => {
      fs.rmSync(lock, { force: true });
      releasedAt = performance.now();
    }, 300);
    await new ModelStore().resolve(request());
    expect(performance.now()).toBeGreaterThanOrEqual(releasedAt);
    expect(Object.keys(manifestOf().files)).toContain('onnx/model.onnx');

    // Left behind by a process that has exited.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.writeFileSync(lock, JSON.stringify({ pid: Number(gone.stdout) }));
    fs.truncateSync(path.join(folderOf(), 'onnx', 'model.onnx'), 1000);
    const brokeAt = performance.now();
    expect((await new ModelStore().resolve(request())).downloaded).toBe(true);
    expect(performance.now() - brokeAt).toBeLessThan(2000);
    expect(fs.existsSync(lock)).toBe(false);
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'the manifest lock held by another live process; a lock left by a process that exited',
      outcome: 'the live one is waited for (0.3 s here); the dead one is broken at once; no lock left behind',
    });
  });
});

describe('a download shared by several requests', () => {
  /** Resolves once the first request's download is under way (the ONNX file well started). */
  function underWay(): { onProgress: (event: DownloadProgress) => void; started: Promise<void> } {
    let resolve: () => void = () => undefined;
    const started = new Promise<void>((done) => (resolve = done));
    return { onProgress: (event) => event.file === 'onnx/model.onnx' && event.loadedBytes > 300_000 && resolve(), started };
  }

  it('cancelling the request that started it detaches only that request: the other one gets the model, downloaded once', async () => {
    hub.addFault({ file: /model\.onnx$/, fault: { kind: 'slow', bytesPerSecond: 6_000_000 } });
    const analyzer = new Analyzer();
    const first = new AbortController();
    const watch = underWay();
    const firstLoad = analyzer.load(request(), { signal: first.signal, onProgress: watch.onProgress });
    const secondProgress: DownloadProgress[] = [];
    const secondLoad = analyzer.load(request(), { onProgress: (event) => secondProgress.push(event) });
    await watch.started;
    first.abort();
    await expect(firstLoad).rejects.toMatchObject({ code: 'cancelled' });
    const model = await secondLoad;
    expect(model.info.name).toBe(MODEL_ID);
    expect(hub.fullDownloadsOf(/model\.onnx$/)).toHaveLength(1);
    expect(secondProgress.at(-1)).toMatchObject({ loadedBytes: secondProgress.at(-1)!.totalBytes });

    // Live mode: the analysis in flight is cancelled just before the next one asks; the download goes on.
    await analyzer.dispose();
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-cache-'));
    hub.requests.length = 0;
    const third = new AbortController();
    const watchThird = underWay();
    const thirdLoad = analyzer.load(request(), { signal: third.signal, onProgress: watchThird.onProgress });
    await watchThird.started;
    third.abort();
    await expect(thirdLoad).rejects.toMatchObject({ code: 'cancelled' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await analyzer.load(request());
    expect(hub.fullDownloadsOf(/model\.onnx$/)).toHaveLength(1);
    await analyzer.dispose();
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'two requests wait for one slow download; the first is cancelled (and: the only one is cancelled, the next joins 0.1 s later)',
      outcome:
        'the cancelled request rejects as cancelled; the download goes on for the other (and for the one that joined), the file fetched once',
    });
  });

  it('the download stops when every request has gone, or at once on an explicit Cancel', async () => {
    hub.addFault({ file: /model\.onnx$/, fault: { kind: 'slow', bytesPerSecond: 1_000_000 } });
    const analyzer = new Analyzer();
    const aborts = [new AbortController(), new AbortController()];
    const watch = underWay();
    const loads = aborts.map((abort) => analyzer.load(request(), { signal: abort.signal, onProgress: watch.onProgress }));
    await watch.started;
    aborts.forEach((abort) => abort.abort());
    for (const load of loads) await expect(load).rejects.toMatchObject({ code: 'cancelled' });
    const gone = performance.now();
    while (analyzer.loadedKeys.length > 0 && performance.now() - gone < 5000) await new Promise((resolve) => setTimeout(resolve, 20));
    const stoppedAfterMs = performance.now() - gone;
    expect(analyzer.loadedKeys).toEqual([]);
    expect(fs.existsSync(path.join(folderOf(), 'onnx', 'model.onnx'))).toBe(false);

    const watchAgain = underWay();
    const again = [analyzer.load(request(), { onProgress: watchAgain.onProgress }), analyzer.load(request())];
    await watchAgain.started;
    const cancelled = performance.now();
    analyzer.cancelLoad(request());
    for (const load of again) await expect(load).rejects.toMatchObject({ code: 'cancelled' });
    const cancelMs = performance.now() - cancelled;
    expect(cancelMs).toBeLessThan(500);
    expect(fs.existsSync(path.join(folderOf(), 'onnx', 'model.onnx'))).toBe(false);
    await analyzer.dispose();
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'every request waiting for a download cancelled; the user’s Cancel while two requests wait',
      outcome: `the download stops once the last request has gone (after a 1 s grace for a next request: ${(stoppedAfterMs / 1000).toFixed(1)} s); Cancel stops it for both at once (${cancelMs.toFixed(0)} ms); no partial file`,
    });
  });
});

describe('a hub that stops answering', () => {
  const idleTimeoutMs = 400;

  it('a hub that accepts the connection and never answers: progress (the notification with Cancel) at once, then a timeout message', async () => {
    hub.addFault({ methods: ['HEAD', 'GET'], fault: { kind: 'hang' } });
    const started = performance.now();
    const progress: Array<DownloadProgress & { atMs: number }> = [];
    const error = await new ModelStore({ idleTimeoutMs })
      .resolve(request(), { onProgress: (event) => progress.push({ ...event, atMs: performance.now() - started }) })
      .catch((caught: unknown) => caught);
    const elapsedMs = performance.now() - started;
    expect(error).toMatchObject({
      code: 'model-unavailable',
      message: expect.stringMatching(
        new RegExp(`^${hub.url.replace(/\./g, '\\.')} did not answer for 0\\.4 s \\(asking for onnx/model\\.onnx\\)`),
      ),
    });
    expect(elapsedMs).toBeLessThan(idleTimeoutMs + 2000);
    // The first event comes before the hub is asked anything, so the host's notification (and its Cancel) shows at once.
    expect(progress[0]).toMatchObject({ loadedBytes: 0, totalBytes: 0 });
    expect(progress[0]!.atMs).toBeLessThan(idleTimeoutMs);
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'hub accepts the connection and never answers (idle timeout lowered to 0.4 s; 30 s by default)',
      outcome: `a progress event before the first request (the notification with Cancel opens at once); “${(error as Error).message.replace(hub.url, 'http://127.0.0.1:<port>')}” after ${(elapsedMs / 1000).toFixed(1)} s`,
    });
  }, 10_000);

  it('a hub that stops sending in the middle of a file: a timeout message, no partial file', async () => {
    hub.addFault({ file: /model\.onnx$/, fault: { kind: 'stall', afterBytes: 200_000 } });
    const started = performance.now();
    const error = await new ModelStore({ idleTimeoutMs }).resolve(request()).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'model-unavailable',
      message: expect.stringMatching(/did not answer for 0\.4 s \(asking for onnx\/model\.onnx\)/),
    });
    expect(performance.now() - started).toBeLessThan(idleTimeoutMs + 2000);
    expectNoOnnxLeft();
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'hub stops sending 200 KB into the ONNX file (connection left open)',
      outcome: 'the idle timeout ends it with a message naming the hub and the file; no partial or temporary file left',
    });
  }, 10_000);
});

describe('hub redirects', () => {
  const cdn = 'cdn/tiny-distilbert';

  beforeAll(() => hub.addRepository({ id: cdn, folder: ensureTestModel('tiny') }));

  it('a redirect to plain HTTP off this machine is refused before any connection, on HEAD and on GET', async () => {
    for (const methods of [['HEAD', 'GET'], ['GET']] as Array<Array<'HEAD' | 'GET'>>) {
      hub.clearFaults();
      hub.requests.length = 0;
      hub.addFault({ model: MODEL_ID, methods, fault: { kind: 'redirect', location: 'http://example.invalid/m/resolve/main/{file}' } });
      const error = await new ModelStore().resolve(request()).catch((caught: unknown) => caught);
      // Refused by the policy (not a failed DNS lookup of the .invalid name, which would mean it was tried).
      expect(error, methods.join()).toMatchObject({
        code: 'model-unavailable',
        message: expect.stringMatching(/redirected .* to http:\/\/example\.invalid, which is neither HTTPS nor this machine/),
      });
      expect(fs.existsSync(path.join(folderOf(), 'onnx', 'model.onnx'))).toBe(false);
      expect(hub.requests.some((entry) => entry.status === 302)).toBe(true);
    }
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'hub answers 302 to http://example.invalid/… (plain HTTP, not this machine), on HEAD or only on GET',
      outcome: 'refused before connecting, naming the hop; nothing written to the cache',
    });
  });

  it('a redirect to another path on this machine is followed; a redirect loop stops after 5 hops', async () => {
    hub.addFault({ model: MODEL_ID, methods: ['HEAD', 'GET'], fault: { kind: 'redirect', location: `/${cdn}/resolve/main/{file}` } });
    const resolved = await new ModelStore().resolve(request());
    expect(resolved.downloaded).toBe(true);
    expect(hub.fullDownloadsOf(new RegExp(`^/${cdn}/.*model\\.onnx$`))).toHaveLength(1);
    expect(fs.statSync(resolved.onnxPath).size).toBe(fs.statSync(path.join(ensureTestModel('tiny'), 'onnx', 'model.onnx')).size);

    hub.clearFaults();
    hub.requests.length = 0;
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-cache-'));
    hub.addFault({ model: MODEL_ID, methods: ['HEAD', 'GET'], fault: { kind: 'redirect', location: `/${MODEL_ID}/resolve/main/{file}` } });
    await expect(new ModelStore().resolve(request())).rejects.toMatchObject({
      code: 'model-unavailable',
      message: expect.stringMatching(/more than 5 redirects/),
    });
    expect(hub.requests.filter((entry) => entry.status === 302).length).toBe(6);
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'hub redirects to another loopback path; hub redirects to itself forever',
      outcome: 'the loopback hop is followed (file downloaded once, verified); the loop is refused after 5 redirects',
    });
  });
});

describe('hub model ids', () => {
  it('refuses ids that would map the cache folder onto the models root or above it (".", "owner/.", "..")', () => {
    const root = path.join(os.tmpdir(), 'attn-models-root');
    for (const id of ['.', './', 'owner/.', 'owner/..', '..', '.hidden/model', 'owner/-x', '-x', '_x/y', 'a//b', '']) {
      expect(isHubModelId(id), id).toBe(false);
    }
    for (const id of ['gpt2', 'Xenova/gpt2', 'onnx-community/Qwen2.5-0.5B-Instruct', 'HuggingFaceTB/SmolLM2-135M-Instruct', 'a.b/c_d-e']) {
      expect(isHubModelId(id), id).toBe(true);
      const folder = hubCacheFolder({ kind: 'hub', modelId: id, hubUrl: 'https://huggingface.co', revision: 'main', cacheDir: root });
      expect(path.relative(root, folder).startsWith('..') || folder === root, id).toBe(false);
    }
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: 'hub model ids ".", "owner/.", "..", ".hidden/x" (the cache folder would be the models root)',
      outcome: 'refused as model ids: every segment starts with a letter or digit',
    });
  });
});
