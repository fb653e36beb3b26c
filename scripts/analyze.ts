/**
 * `npm run analyze -- --model DIR_OR_ID [--dtype fp32|q8|int8|uint8|q4|bnb4] [--task T] [--text "…" | --file F] [--json]
 *   [--explain] [--target I] [--generate K [--temperature T] [--seed S]] [--hub URL] [--offline]`
 *
 * Analyses a text with the same code the extension's worker runs (src/model/analyzer.ts): prints a summary, or with
 * --json one JSON object (the contract scripts and checks rely on; the README documents it):
 *
 *   { model, dtype, family, task,
 *     tokens: [{ id, text, start, end, special }]        offsets in UTF-16 code units of the text
 *     attentions: [layers][heads][n][n],
 *     text classification:  labels, logits [labels], probabilities [labels]
 *     token classification: labels, logits [n][labels], entities [{ label, score, tokens, word }]
 *     fill-mask:            masks: [{ index, top: [{ id, token, probability }] }]   (top 5, most probable first)
 *     feature extraction:   embedding: { dimensions, pooling, norm }
 *     text generation:      nextToken: { logits [vocab] (the last position's), top: [{ id, token, probability }] (top 10) },
 *                           tokenProbabilities [n] (p of each token given those before it; -1 for the first)
 *     --generate K:         generation: { temperature, seed, steps: [{ id, token, probability, attention [layers][heads][n + i] }] }
 *                           (greedy unless --temperature T > 0; step i's attention is the row of the query that
 *                           predicted its token, over every position before it)
 *     --explain:            headImportance: { deltas [layers][heads], normalised, target: { position, label } },
 *                           occlusion: [{ index, delta }]
 *     timings: { tokenizeMs, inferenceMs, totalMs } }
 *
 * `--explain` explains the prediction at one token: a text classifier's label; for token classification the label
 * at `--target I` (a token index; default the first entity's first token); for fill-mask the top token at the mask
 * `--target I` names (default the first); for a language model the top next token (occlusion removes tokens). Deltas are Δ probability of that label with a head (or token) taken away.
 * Without --text or --file the text is read from standard input.
 *
 * A folder is used as it is; anything else is a hub model id, downloaded (once) into
 * `$ATTN_TOOLS_DIR/models` (default ~/.cache/attention-explorer/models) from --hub, `$HF_ENDPOINT` or huggingface.co.
 */
import './lib/noTelemetry';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { attentionTensor, Rollout, topK } from '../src/engine';
import { Analyzer, type AnalysisResult } from '../src/model/analyzer';
import { headImportance, occlusion } from '../src/model/explanations';
import { eachLayer, type LayerMaps } from '../src/model/layerMaps';
import { isHubModelId, modelRequestKey, type ModelDtype, type ModelRequest } from '../src/model/modelSource';
import { headlineOf, MODEL_DTYPES, TASKS, type TaskId } from '../src/shared/analysis';
import type { HeadImportance } from '../src/shared/analysisViews';
import { messageOf } from '../src/shared/errors';

/** What --explain adds. */
interface Explanation {
  headImportance: Pick<HeadImportance, 'deltas' | 'normalised'> & { target: { position: number; label: string } };
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
  if (!(MODEL_DTYPES as readonly string[]).includes(given))
    throw new Error(`--dtype must be one of ${MODEL_DTYPES.join(', ')} (got ${given})`);
  const dtype = given as ModelDtype;
  const task = argument('--task');
  if (task !== undefined && !(TASKS as readonly string[]).includes(task))
    throw new Error(`--task must be one of ${TASKS.join(', ')} (got ${task})`);
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
  return { source, dtype, ...(task ? { task: task as TaskId } : {}), offline: process.argv.includes('--offline'), storageDir };
}

/** The fields of the prediction, per task, as the JSON contract names them. */
function predictionFields(result: AnalysisResult, output: Float32Array): Record<string, unknown> {
  const prediction = result.prediction;
  const n = result.tokens.length;
  switch (prediction.task) {
    case 'text-classification':
      return { labels: prediction.labels, logits: prediction.logits, probabilities: prediction.probabilities };
    case 'token-classification': {
      const width = prediction.labels.length;
      const logits = Array.from({ length: n }, (_, token) => Array.from(output.subarray(token * width, (token + 1) * width)));
      return { labels: prediction.labels, logits, entities: prediction.entities };
    }
    case 'fill-mask':
      return { masks: prediction.masks };
    case 'feature-extraction': {
      const { dimensions, pooling, norm } = prediction;
      return { embedding: { dimensions, pooling, norm } };
    }
    case 'text-generation':
      return { nextToken: { logits: Array.from(output), top: prediction.next }, tokenProbabilities: prediction.tokenProbabilities };
    case 'none':
      return {};
  }
}

/** What --generate adds. */
interface GenerationOutput {
  temperature: number;
  seed: number;
  steps: Array<{ id: number; token: string; probability: number; attention: number[][][] }>;
}

async function generate(analyzer: Analyzer, key: string, result: AnalysisResult, count: number): Promise<GenerationOutput> {
  const temperature = Number(argument('--temperature') ?? '0');
  const seed = Number(argument('--seed') ?? '0');
  const generation = await analyzer.generate(
    key,
    result.tokens.map((token) => token.id),
    { temperature, seed },
  );
  const { heads } = result.model;
  const steps: GenerationOutput['steps'] = [];
  for (let index = 0; index < count; index += 1) {
    const step = await generation.step();
    if (!step) break;
    const positions = step.attention[0]!.length / heads;
    steps.push({
      id: step.id,
      token: step.token,
      probability: step.probability,
      attention: step.attention.map((layer) =>
        Array.from({ length: heads }, (_, head) => Array.from(layer.subarray(head * positions, (head + 1) * positions))),
      ),
    });
  }
  return { temperature, seed, steps };
}

/** Writes the result as JSON, streaming the attention tensor row by row (it can hold tens of millions of numbers). */
async function writeJson(
  result: AnalysisResult,
  attention: LayerMaps,
  output: Float32Array,
  explanation: Explanation | undefined,
  generation: GenerationOutput | undefined,
  out: NodeJS.WritableStream,
): Promise<void> {
  const { heads } = result.model;
  const n = result.tokens.length;
  const head = {
    model: result.model.name,
    dtype: result.model.dtype,
    family: result.model.family,
    task: result.model.task,
    tokens: result.tokens.map(({ id, text, start, end, special }) => ({ id, text, start, end, special })),
    ...predictionFields(result, output),
    ...(explanation ?? {}),
    ...(generation ? { generation } : {}),
  };
  out.write(JSON.stringify(head).slice(0, -1));
  out.write(',"attentions":[');
  // One layer's maps at a time: computed from the run's queries and keys (or the graph's own) as they are written.
  for await (const [layer, maps] of eachLayer(attention)) {
    out.write(layer ? ',[' : '[');
    for (let h = 0; h < heads; h += 1) {
      out.write(h ? ',[' : '[');
      for (let row = 0; row < n; row += 1) {
        const offset = (h * n + row) * n;
        out.write((row ? ',' : '') + JSON.stringify(Array.from(maps.subarray(offset, offset + n))));
      }
      out.write(']');
    }
    out.write(']');
  }
  const { tokenizeMs, inferenceMs, totalMs } = result.timings;
  out.write(`],"timings":${JSON.stringify({ tokenizeMs, inferenceMs, totalMs })}}\n`);
}

function writeSummary(result: AnalysisResult, headMeans: Float32Array, explanation: Explanation | undefined): void {
  const prediction = result.prediction;
  const headline = headlineOf(prediction);
  const lines: string[] = [];
  switch (prediction.task) {
    case 'text-classification':
      lines.push(
        `${headline!.label} ${(headline!.probability! * 100).toFixed(2)}%   (${prediction.labels.map((label, index) => `${label} ${prediction.probabilities[index]!.toFixed(4)}`).join(', ')})`,
      );
      break;
    case 'token-classification':
      lines.push(
        prediction.entities.length
          ? prediction.entities.map((entity) => `${entity.label} “${entity.word}” ${(entity.score * 100).toFixed(1)}%`).join(', ')
          : 'no entities',
      );
      break;
    case 'fill-mask':
      for (const mask of prediction.masks)
        lines.push(
          `token ${mask.index}: ${mask.top.map((candidate) => `${candidate.token} ${(candidate.probability * 100).toFixed(1)}%`).join(', ')}`,
        );
      if (prediction.masks.length === 0) lines.push('no mask token in the text');
      break;
    case 'feature-extraction':
      lines.push(`embedding: ${prediction.dimensions} dimensions, ${prediction.pooling}-pooled, L2 norm ${prediction.norm.toFixed(4)}`);
      break;
    case 'text-generation':
      lines.push(
        `next token: ${prediction.next.map((candidate) => `${JSON.stringify(candidate.token)} ${(candidate.probability * 100).toFixed(1)}%`).join(', ')}`,
      );
      break;
  }
  lines.push(
    `model ${result.model.name} (${result.model.family}, ${result.model.task}, ${result.model.dtype}, ${result.model.layers} layers × ${result.model.heads} heads)${result.model.isTestModel ? ' — a test model with RANDOM weights: the prediction means nothing' : ''}`,
    `${result.tokens.length} tokens${result.truncation ? ` (truncated from ${result.truncation.textTokens + result.tokens.length - result.truncation.keptTextTokens}; the model read characters 0–${result.truncation.analysedEnd})` : ''}: ${result.tokens.map((token) => token.text).join(' ')}`,
  );
  const n = result.tokens.length;
  // Rollout reads only each layer's mean over heads.
  const tensor = attentionTensor(result.model.layers, 1, n, headMeans);
  // An encoder's summary token is its first; a decoder's last token sees the whole text.
  const reader = result.model.causal ? n - 1 : 0;
  const rollout = Rollout.of(tensor).row(reader);
  const special = (index: number) => result.tokens[index]?.special ?? true;
  const lastLayerStart = ((result.model.layers - 1) * n + reader) * n;
  const lastLayer = headMeans.subarray(lastLayerStart, lastLayerStart + n);
  const list = (ranked: Array<{ index: number; weight: number }>) =>
    ranked.map(({ index, weight }) => `${result.tokens[index]!.text} ${weight.toFixed(3)}`).join(', ');
  const which = result.model.causal ? 'last' : 'first';
  lines.push(`the ${which} token attends most (last layer, mean of heads): ${list(topK(lastLayer, 5, special))}`);
  lines.push(`the ${which} token's rollout, most relevant input tokens: ${list(topK(rollout, 5, special))}`);
  if (explanation) {
    const { target } = explanation.headImportance;
    const heads = explanation.headImportance.deltas.flatMap((row, layer) => row.map((delta, head) => ({ layer, head, delta })));
    heads.sort((a, b) => a.delta - b.delta);
    lines.push(
      `heads whose ablation lowers ${target.label} (token ${target.position}) most: ${heads
        .slice(0, 5)
        .map(({ layer, head, delta }) => `${layer + 1}.${head + 1} ${delta.toFixed(4)}`)
        .join(', ')}`,
    );
    const tokens = [...explanation.occlusion].sort((a, b) => a.delta - b.delta);
    lines.push(
      `tokens whose masking lowers ${target.label} most: ${tokens
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

async function explain(analyzer: Analyzer, key: string, result: AnalysisResult): Promise<Explanation> {
  const { model, chain, options } = await analyzer.explainer(key);
  const maskId = model.tokenizer.maskTokenId;
  // A language model's tokenizer has no mask token: its tokens are taken away instead.
  if (maskId === undefined && !model.info.causal) throw new Error('the tokenizer has no mask token, so occlusion cannot run');
  const given = argument('--target');
  const requested =
    given !== undefined
      ? Number(given)
      : result.prediction.task === 'token-classification'
        ? result.prediction.entities[0]?.tokens[0]
        : undefined;
  if (requested !== undefined && !Number.isInteger(requested)) throw new Error(`--target must be a token index (got ${given})`);
  const intervention = options(result.tokens, requested);
  const ids = result.tokens.map((token) => token.id);
  const importance = await headImportance(chain, ids, intervention);
  const occluded = await occlusion(chain, result.tokens, {
    ...intervention,
    mode: maskId === undefined ? 'remove' : 'mask',
    unit: 'token',
    maskId: maskId ?? 0,
  });
  return {
    headImportance: {
      deltas: importance.deltas,
      normalised: importance.normalised,
      target: { position: importance.position, label: importance.labels[importance.label] ?? '' },
    },
    occlusion: occluded.units.map(({ indices, delta }) => ({ index: indices[0]!, delta })),
  };
}

async function main(): Promise<void> {
  const text = await readText();
  const analyzer = new Analyzer();
  try {
    let lastReport = 0;
    const modelRequest = request();
    const { result, attention, headMeans, output } = await analyzer.analyze(modelRequest, text, {
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
    const steps = argument('--generate');
    if (steps !== undefined && !(Number.isInteger(Number(steps)) && Number(steps) >= 1))
      throw new Error(`--generate must be a count of tokens (got ${steps})`);
    const generation = steps !== undefined ? await generate(analyzer, modelRequestKey(modelRequest), result, Number(steps)) : undefined;
    if (process.argv.includes('--json')) {
      await writeJson(result, attention, output, explanation, generation, process.stdout);
    } else {
      writeSummary(result, headMeans, explanation);
      if (generation) {
        console.log(
          `generated: ${generation.steps.map((step) => `${JSON.stringify(step.token)} ${(step.probability * 100).toFixed(1)}%`).join(' ')}`,
        );
      }
    }
  } finally {
    await analyzer.dispose();
  }
}

main().catch((error: unknown) => {
  console.error(`analyze: ${messageOf(error)}`);
  process.exitCode = 1;
});
