/**
 * `npm run analyze -- --model DIR_OR_ID [--dtype fp32|q8] [--text "…" | --file F] [--json] [--explain] [--hub URL] [--offline]`
 *
 * Analyses a text with the same code the extension's worker runs (src/model/analyzer.ts): prints the label, every
 * label's probability and a short summary, or with --json one JSON object:
 * `{ model, dtype, tokens: [{ id, text, start, end, special }], logits, probabilities, labels,
 *    attentions: [layers][heads][n][n], timings: { tokenizeMs, inferenceMs, totalMs } }`.
 * With --explain it also runs the interventions (src/model/explanations.ts) and adds
 * `headImportance: { deltas: [layers][heads], normalised: [layers][heads] }` (Δ probability of the predicted label when
 * that head alone is switched off; normalised: the drops, per-layer L2 then global min-max, after Michel et al.) and
 * `occlusion: [{ index, delta }]` (per non-special token, Δ probability of the predicted label when it is replaced by
 * [MASK]).
 * Without --text or --file the text is read from standard input.
 *
 * A folder is used as it is; anything else is a hub model id, downloaded (once) into
 * `$ATTN_TOOLS_DIR/models` (default ~/.cache/attention-explorer/models) from --hub, `$HF_ENDPOINT` or huggingface.co.
 */
import './lib/noTelemetry';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { argmax, attentionTensor, Rollout, topK } from '../src/engine';
import { Analyzer, type AnalysisResult } from '../src/model/analyzer';
import { headImportance, occlusion } from '../src/model/explanations';
import type { HeadImportance } from '../src/shared/analysisViews';
import { messageOf } from '../src/shared/errors';
import { isHubModelId, modelRequestKey, type ModelDtype, type ModelRequest } from '../src/model/modelSource';

/** What --explain adds. */
interface Explanation {
  headImportance: Pick<HeadImportance, 'deltas' | 'normalised'>;
  occlusion: Array<{ index: number; delta: number }>;
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

async function readText(): Promise<string> {
  const text = argument('--text');
  if (text !== undefined) return text;
  const file = argument('--file');
  if (file !== undefined) return fs.readFileSync(file, 'utf8');
  if (process.stdin.isTTY) throw new Error('give --text "…", --file F, or pipe the text in');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function request(): ModelRequest {
  const model = argument('--model');
  if (!model) throw new Error('--model DIR_OR_ID is required');
  const given = argument('--dtype') ?? 'fp32';
  if (given !== 'fp32' && given !== 'q8') throw new Error(`--dtype must be fp32 or q8 (got ${given})`);
  const dtype: ModelDtype = given;
  const storageDir = process.env.ATTN_TOOLS_DIR ?? path.join(os.homedir(), '.cache', 'attention-explorer');
  const folder = path.resolve(model);
  const isFolder = fs.existsSync(folder) && fs.statSync(folder).isDirectory();
  if (!isFolder && !isHubModelId(model)) {
    throw new Error(`--model ${model} is neither a folder nor a Hugging Face model id (owner/name)`);
  }
  const source = isFolder
    ? { kind: 'folder' as const, folder }
    : {
        kind: 'hub' as const,
        modelId: model,
        hubUrl: (argument('--hub') ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, ''),
        revision: 'main',
        cacheDir: path.join(storageDir, 'models'),
      };
  return { source, dtype, offline: process.argv.includes('--offline'), storageDir };
}

/** Writes the result as JSON, streaming the attention tensor row by row (it can hold tens of millions of numbers). */
function writeJson(
  result: AnalysisResult,
  attentions: Float32Array[],
  explanation: Explanation | undefined,
  out: NodeJS.WritableStream,
): void {
  const { layers, heads } = result.model;
  const n = result.tokens.length;
  const head = {
    model: result.model.name,
    dtype: result.model.dtype,
    tokens: result.tokens.map(({ id, text, start, end, special }) => ({ id, text, start, end, special })),
    logits: result.sentiment.logits,
    probabilities: result.sentiment.probabilities,
    labels: result.sentiment.labels,
    ...(explanation ?? {}),
  };
  out.write(JSON.stringify(head).slice(0, -1));
  out.write(',"attentions":[');
  for (let layer = 0; layer < layers; layer += 1) {
    out.write(layer ? ',[' : '[');
    for (let h = 0; h < heads; h += 1) {
      out.write(h ? ',[' : '[');
      for (let row = 0; row < n; row += 1) {
        const offset = (h * n + row) * n;
        out.write((row ? ',' : '') + JSON.stringify(Array.from(attentions[layer]!.subarray(offset, offset + n))));
      }
      out.write(']');
    }
    out.write(']');
  }
  const { tokenizeMs, inferenceMs, totalMs } = result.timings;
  out.write(`],"timings":${JSON.stringify({ tokenizeMs, inferenceMs, totalMs })}}\n`);
}

function writeSummary(result: AnalysisResult, attentions: Float32Array[], explanation: Explanation | undefined): void {
  const { labels, probabilities } = result.sentiment;
  const best = argmax(probabilities);
  const lines = [
    `${labels[best]} ${(probabilities[best]! * 100).toFixed(2)}%   (${labels.map((label, index) => `${label} ${probabilities[index]!.toFixed(4)}`).join(', ')})`,
    `model ${result.model.name} (${result.model.dtype}, ${result.model.layers} layers × ${result.model.heads} heads)${result.model.isTestModel ? ' — a test model with RANDOM weights: the prediction means nothing' : ''}`,
    `${result.tokens.length} tokens${result.truncation ? ` (truncated from ${result.truncation.textTokens + 2}; the model read characters 0–${result.truncation.analysedEnd})` : ''}: ${result.tokens.map((token) => token.text).join(' ')}`,
  ];
  const n = result.tokens.length;
  const tensor = attentionTensor(result.model.layers, result.model.heads, n, concatenate(attentions));
  const rollout = Rollout.of(tensor).row(0);
  const special = (index: number) => result.tokens[index]?.special ?? true;
  const lastLayer = result.headMeans.subarray((result.model.layers - 1) * n * n, (result.model.layers - 1) * n * n + n);
  const list = (ranked: Array<{ index: number; weight: number }>) =>
    ranked.map(({ index, weight }) => `${result.tokens[index]!.text} ${weight.toFixed(3)}`).join(', ');
  lines.push(`[CLS] attends most (last layer, mean of heads): ${list(topK(lastLayer, 5, special))}`);
  lines.push(`[CLS] rollout, most relevant input tokens: ${list(topK(rollout, 5, special))}`);
  if (explanation) {
    const heads = explanation.headImportance.deltas.flatMap((row, layer) => row.map((delta, head) => ({ layer, head, delta })));
    heads.sort((a, b) => a.delta - b.delta);
    lines.push(
      `heads whose ablation lowers ${labels[best]} most: ${heads
        .slice(0, 5)
        .map(({ layer, head, delta }) => `${layer + 1}.${head + 1} ${delta.toFixed(4)}`)
        .join(', ')}`,
    );
    const tokens = [...explanation.occlusion].sort((a, b) => a.delta - b.delta);
    lines.push(
      `tokens whose [MASK] lowers ${labels[best]} most: ${tokens
        .slice(0, 5)
        .map(({ index, delta }) => `${result.tokens[index]!.text} ${delta.toFixed(4)}`)
        .join(', ')}`,
    );
  }
  lines.push(
    `tokenize ${result.timings.tokenizeMs.toFixed(1)} ms, inference ${result.timings.inferenceMs.toFixed(1)} ms, total ${result.timings.totalMs.toFixed(0)} ms`,
  );
  console.log(lines.join('\n'));
}

function concatenate(layers: Float32Array[]): Float32Array {
  const all = new Float32Array(layers.reduce((sum, layer) => sum + layer.length, 0));
  let offset = 0;
  for (const layer of layers) {
    all.set(layer, offset);
    offset += layer.length;
  }
  return all;
}

async function explain(analyzer: Analyzer, key: string, result: AnalysisResult): Promise<Explanation> {
  const { model, chain, toProbabilities } = await analyzer.explainer(key);
  const maskId = model.tokenizer.maskTokenId;
  if (maskId === undefined) throw new Error('the tokenizer has no [MASK] token, so occlusion cannot run');
  const ids = result.tokens.map((token) => token.id);
  const { deltas, normalised } = await headImportance(chain, ids, toProbabilities);
  const occluded = await occlusion(chain, result.tokens, { mode: 'mask', unit: 'token', maskId }, toProbabilities);
  return { headImportance: { deltas, normalised }, occlusion: occluded.units.map(({ indices, delta }) => ({ index: indices[0]!, delta })) };
}

async function main(): Promise<void> {
  const text = await readText();
  const analyzer = new Analyzer();
  try {
    let lastReport = 0;
    const modelRequest = request();
    const { result, attentions } = await analyzer.analyze(modelRequest, text, {
      onProgress: (progress) => {
        if (Date.now() - lastReport > 500 || progress.loadedBytes === progress.totalBytes) {
          lastReport = Date.now();
          process.stderr.write(
            `downloading: ${(progress.loadedBytes / 1048576).toFixed(1)} of ${(progress.totalBytes / 1048576).toFixed(1)} MB\n`,
          );
        }
      },
    });
    const explanation = process.argv.includes('--explain') ? await explain(analyzer, modelRequestKey(modelRequest), result) : undefined;
    if (process.argv.includes('--json')) {
      writeJson(result, attentions, explanation, process.stdout);
    } else {
      writeSummary(result, attentions, explanation);
    }
  } finally {
    await analyzer.dispose();
  }
}

main().catch((error: unknown) => {
  console.error(`analyze: ${messageOf(error)}`);
  process.exitCode = 1;
});
