/**
 * The attention document reader (src/shared/attentionFile.ts) against independent references: Node's own base64
 * decoder, NumPy's float16 conversion of every one of the 65 536 bit patterns, and the rules of
 * docs/ATTENTION_FORMAT.md, each refusal with its message.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_TOKENS } from '../../src/shared/analysis';
import {
  AttentionFileError,
  MAX_ATTENTION_HEADS,
  MAX_ATTENTION_LAYERS,
  decodeBase64Into,
  halfToFloat,
  importedAnalysis,
  MAX_ATTENTION_BYTES,
  parseAttentionDocument,
  readAttentionDocument,
} from '../../src/shared/attentionFile';
import { headMapOf } from '../../src/shared/attentionViews';
import { pythonCommand, repoRoot } from '../support/paths';
import { recordCase } from '../support/reliability';

function document(overrides: Record<string, unknown> = {}, attention: Record<string, unknown> = {}): Record<string, unknown> {
  const weights = new Float32Array(2 * 3 * 4 * 4).map((_, index) => ((index * 7) % 11) / 11);
  return {
    format: 'attention-explorer.attention',
    version: 1,
    model: 'test model',
    sequences: [{ name: 'tokens', tokens: ['[CLS]', 'the', 'cat', '[SEP]'] }],
    attentions: [
      {
        name: 'attention',
        queries: 'tokens',
        keys: 'tokens',
        layers: 2,
        heads: 3,
        dtype: 'float32',
        data: Buffer.from(weights.buffer).toString('base64'),
        ...attention,
      },
    ],
    ...overrides,
  };
}

function refusal(input: unknown): string {
  try {
    readAttentionDocument(input);
  } catch (error) {
    expect(error).toBeInstanceOf(AttentionFileError);
    return (error as Error).message;
  }
  throw new Error('the document was accepted');
}

describe('attention documents', () => {
  it('base64 decodes exactly as Node decodes it, for every length modulo 3', () => {
    for (let length = 0; length < 40; length += 1) {
      const bytes = Uint8Array.from({ length }, (_, index) => (index * 97 + length * 13) & 255);
      const text = Buffer.from(bytes).toString('base64');
      const out = new Uint8Array(length);
      decodeBase64Into(text, out);
      expect(Buffer.from(out).equals(Buffer.from(bytes))).toBe(true);
    }
    expect(() => decodeBase64Into('AAA*', new Uint8Array(3))).toThrow(/not base64/);
    expect(() => decodeBase64Into('AAAA', new Uint8Array(4))).toThrow(/expected 4 bytes/);
  });

  it('float16 decodes as NumPy decodes each of the 65 536 bit patterns', () => {
    let numpyValues: number[];
    try {
      const script =
        'import numpy as np, sys; sys.stdout.write(np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float64).tobytes().hex())';
      const hex = execFileSync(pythonCommand, ['-c', script], { encoding: 'utf8', maxBuffer: 8 * 1024 * 1024 });
      numpyValues = Array.from(new Float64Array(Uint8Array.from(Buffer.from(hex, 'hex')).buffer));
    } catch {
      throw new Error('python3 with NumPy is needed for this test (apt-get install python3-numpy)');
    }
    for (let bits = 0; bits < 65536; bits += 1) {
      const expected = numpyValues[bits]!;
      const actual = halfToFloat(bits);
      if (Number.isNaN(expected)) expect(actual).toBeNaN();
      else expect(actual).toBe(expected);
    }
  });

  it('reads a float32 document: tokens, guessed special tokens, maps equal to the written weights', () => {
    const input = document();
    const read = readAttentionDocument(input);
    expect(read.model).toBe('test model');
    expect(read.sequences[0]!.tokens.map((token) => token.special)).toEqual([true, false, false, true]);
    const maps = read.attentions[0]!;
    expect([maps.layers, maps.heads, maps.rows, maps.cols]).toEqual([2, 3, 4, 4]);
    const written = new Float32Array(Uint8Array.from(Buffer.from((input.attentions as Array<{ data: string }>)[0]!.data, 'base64')).buffer);
    const { held, analysis } = importedAnalysis(read, maps, 'a', {
      documentName: 'x',
      documentUri: '',
      startLine: 0,
      startCharacter: 0,
      endLine: 0,
      endCharacter: 0,
    });
    expect(analysis.prediction.task).toBe('none');
    const head = headMapOf(held, 1, 2, { hideSpecial: false, mergeWords: false });
    expect(Array.from(head.map)).toEqual(Array.from(written.subarray((1 * 3 + 2) * 16, (1 * 3 + 3) * 16)));
  });

  it('reads float16 and the example of docs/ATTENTION_FORMAT.md shape', () => {
    const halves = new Uint16Array(2 * 3 * 16).fill(0x3800); // 0.5
    const read = readAttentionDocument(document({}, { dtype: 'float16', data: Buffer.from(halves.buffer).toString('base64') }));
    expect(read.attentions[0]!.data[1]![5]).toBe(0.5);
    const spec = fs.readFileSync(path.join(repoRoot, 'docs', 'ATTENTION_FORMAT.md'), 'utf8');
    const example = JSON.parse(/```json\n([\s\S]*?)```/.exec(spec)![1]!) as Record<string, unknown>;
    // The example's data is a placeholder: put real weights of its shape in.
    const attention = (example.attentions as Array<Record<string, unknown>>)[0]!;
    attention.data = Buffer.from(new Float32Array(12 * 12 * 5 * 5).fill(0.2).buffer).toString('base64');
    const parsed = readAttentionDocument(example);
    expect(parsed.sequences[0]!.tokens[2]).toMatchObject({ text: 'cat', start: 4, end: 7, special: false });
    expect(parsed.view).toEqual({ tab: 'model', layer: 0, head: 0 });
  });

  it('refuses what breaks the format, each with a message that says what', () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['not a JSON object', [1, 2], /expected a JSON object/],
      ['another format', { format: 'bertviz' }, /"format" is "bertviz"/],
      ['a later version', { ...document(), version: 2 }, /version 2; this version of Attention Explorer reads version 1/],
      ['data shorter than its shape', document({}, { data: 'AAAA' }), /its data is not float32 \[2, 3, 4, 4\]/],
      [
        'a NaN weight',
        document({}, { data: Buffer.from(new Float32Array(96).fill(Number.NaN).buffer).toString('base64') }),
        /layer 1, head 1: a weight of NaN/,
      ],
      [
        'a negative weight',
        document({}, { data: Buffer.from(new Float32Array(96).fill(0).fill(-1, 50, 51).buffer).toString('base64') }),
        /layer 2, head 1: a weight of -1/,
      ],
      ['an unknown sequence', document({}, { keys: 'encoder' }), /names a sequence the document does not have \("encoder"\)/],
      ['too many layers', document({}, { layers: 300 }), /attentions\.0\.layers/],
      [
        'special flags of the wrong length',
        document({ sequences: [{ name: 'tokens', tokens: ['a', 'b', 'c', 'd'], special: [true] }] }),
        /1 "special" flags for 4 tokens/,
      ],
      [
        'weights over the 64 MiB limit',
        document({ sequences: [{ name: 'tokens', tokens: Array.from({ length: 2000 }, () => 'x') }] }, { layers: 12, heads: 12 }),
        /holds 2197\.3 MiB of weights; Attention Explorer reads at most 64 MiB/,
      ],
    ];
    for (const [name, input, message] of cases) {
      expect(refusal(input), name).toMatch(message);
      recordCase({
        layer: 'unit',
        area: 'Bad input',
        case: `an attention document (notebook output or .attention.json): ${name}`,
        outcome: 'refused with a message naming what is wrong',
      });
    }
    expect(() => parseAttentionDocument('{"format": ')).toThrow(/not valid JSON/);
  });

  it('states the same limits as the Python package', () => {
    const limits = path.join(repoRoot, 'python', 'attention_explorer', '_limits.py');
    const text = fs.readFileSync(limits, 'utf8');
    const valueOf = (name: string): number => {
      const match = new RegExp(`^${name}\\s*=\\s*([\\d\\s*_]+)$`, 'm').exec(text);
      expect(match, `${name} in ${limits}`).not.toBeNull();
      return match![1]!.split('*').reduce((product, factor) => product * Number(factor.trim().replace(/_/g, '')), 1);
    };
    expect(valueOf('MAX_ATTENTION_BYTES')).toBe(MAX_ATTENTION_BYTES);
    expect(valueOf('MAX_TOKENS')).toBe(MAX_TOKENS);
    expect(valueOf('MAX_LAYERS')).toBe(MAX_ATTENTION_LAYERS);
    expect(valueOf('MAX_HEADS')).toBe(MAX_ATTENTION_HEADS);
    expect(valueOf('MAX_TOKEN_LENGTH')).toBe(256);
  });

  it('reads what the Python package writes: UTF-16 offsets past emoji, kept layers, float16, encoder-decoder', () => {
    // The Python side writes documents and the weights it was given; this side reads them with the extension's reader.
    const script = String.raw`
import json, sys
import attention_explorer as ae
from tests.support import random_attention as maps
text = "I 😀 love 👩‍👩‍👧 Zürich"
tokens = ["[CLS]", "i", "😀", "love", "👩‍👩‍👧", "zürich", "[SEP]"]
# Python string indices (code points), as Hugging Face's tokenizers give them: the package converts to UTF-16.
words = ["I", "😀", "love", "👩‍👩‍👧", "Zürich"]
offsets = [(0, 0)] + [(text.index(w), text.index(w) + len(w)) for w in words] + [(0, 0)]
plain = maps(7, 3, 2, 7)
one = ae.show(plain, tokens, text=text, offsets=offsets, include_layers=[1, 2], model="py")
half = ae.show(plain, tokens, precision="float16")
enc, dec = maps(8, 2, 2, 4), maps(9, 2, 2, 3, causal=True)
cross = maps(10, 2, 2, 3, 4)
ed = ae.model_view(encoder_attention=enc, decoder_attention=dec, cross_attention=cross, encoder_tokens=list("abcd"), decoder_tokens=list("xyz"), html_action="return")
json.dump({"documents": [one.document, half.document, ed.document], "plain": plain, "cross": cross}, sys.stdout)
`;
    let output: string;
    try {
      output = execFileSync(pythonCommand, ['-c', script], {
        encoding: 'utf8',
        // tests.support: the Python suite's own pseudo-random attention.
        env: { ...process.env, PYTHONPATH: path.join(repoRoot, 'python'), PYTHONDONTWRITEBYTECODE: '1' },
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (error) {
      throw new Error(`the Python package failed: ${(error as Error).message}`, { cause: error });
    }
    const written = JSON.parse(output) as { documents: unknown[]; plain: number[][][][][]; cross: number[][][][][] };
    const [one, half, encoderDecoder] = written.documents.map((document) => readAttentionDocument(document));
    const weight = (maps: number[][][][][], layer: number, head: number, row: number, col: number) => maps[layer]![0]![head]![row]![col]!;

    const sequence = one!.sequences[0]!;
    expect(sequence.tokens.map((token) => sequence.text.slice(token.start, token.end))).toEqual([
      '',
      'I',
      '😀',
      'love',
      '👩‍👩‍👧',
      'Zürich',
      '',
    ]);
    expect(sequence.tokens.map((token) => token.special)).toEqual([true, false, false, false, false, false, true]);
    const kept = one!.attentions[0]!;
    expect(kept.layerIndices).toEqual([1, 2]);
    // Layer 0 of the document is the model's layer 1: float32, exactly what Python had, rounded once to float32.
    expect(kept.data[0]![(1 * 7 + 3) * 7 + 5]).toBe(Math.fround(weight(written.plain, 1, 1, 3, 5)));

    const halfMaps = half!.attentions[0]!;
    expect(halfMaps.dtype).toBe('float16');
    for (const [layer, head, row, col] of [
      [0, 0, 0, 0],
      [2, 1, 6, 6],
      [1, 0, 3, 2],
    ] as const) {
      const expected = weight(written.plain, layer, head, row, col);
      expect(Math.abs(halfMaps.data[layer]![(head * 7 + row) * 7 + col]! - expected)).toBeLessThanOrEqual(expected * 2 ** -11);
    }

    expect(encoderDecoder!.sequences.map((item) => [item.name, item.tokens.length])).toEqual([
      ['encoder', 4],
      ['decoder', 3],
    ]);
    const byName = Object.fromEntries(encoderDecoder!.attentions.map((maps) => [maps.name, maps]));
    expect(byName.decoder!.causal).toBe(true);
    expect([byName.cross!.rows, byName.cross!.cols]).toEqual([3, 4]);
    expect(byName.cross!.data[1]![(1 * 3 + 2) * 4 + 3]).toBe(Math.fround(weight(written.cross, 1, 1, 2, 3)));
  });
});
