/**
 * The analysed range follows edits: checked against the edited text itself (the range must still select the
 * analysed words while they are untouched).
 */
import { describe, expect, it } from 'vitest';
import { applyEdits, type TextEdit, type TrackedRange } from '../../src/analysis/rangeTracking';

function edit(text: string, edits: TextEdit[]): string {
  return [...edits]
    .sort((a, b) => b.rangeOffset - a.rangeOffset)
    .reduce(
      (result, change) => result.slice(0, change.rangeOffset) + change.text + result.slice(change.rangeOffset + change.rangeLength),
      text,
    );
}

const document = 'Intro. I loved this movie! Outro.';
const analysed = 'I loved this movie!';
const start = document.indexOf(analysed);
const initial: TrackedRange = { start, end: start + analysed.length, stale: false };

describe('range tracking', () => {
  const untouched: Array<[string, TextEdit[]]> = [
    ['an insertion before', [{ rangeOffset: 0, rangeLength: 0, text: 'Well. ' }]],
    ['an insertion exactly at the start', [{ rangeOffset: start, rangeLength: 0, text: '>> ' }]],
    ['a deletion before', [{ rangeOffset: 0, rangeLength: 7, text: '' }]],
    ['a deletion that ends at the start', [{ rangeOffset: 5, rangeLength: start - 5, text: ' ' }]],
    ['an insertion exactly at the end', [{ rangeOffset: initial.end, rangeLength: 0, text: '!!' }]],
    ['an edit after', [{ rangeOffset: initial.end + 1, rangeLength: 5, text: 'The end' }]],
    [
      'several edits around it at once',
      [
        { rangeOffset: 0, rangeLength: 5, text: 'Start' },
        { rangeOffset: initial.end + 1, rangeLength: 6, text: 'Bye' },
        { rangeOffset: start, rangeLength: 0, text: '"' },
      ],
    ],
  ];
  for (const [name, edits] of untouched) {
    it(`keeps selecting the analysed text after ${name}`, () => {
      const tracked = applyEdits(initial, edits);
      expect(tracked.stale).toBe(false);
      expect(edit(document, edits).slice(tracked.start, tracked.end)).toBe(analysed);
    });
  }

  const touching: Array<[string, TextEdit[], string]> = [
    ['a word typed inside', [{ rangeOffset: start + 2, rangeLength: 0, text: 'really ' }], 'I really loved this movie!'],
    ['a word replaced', [{ rangeOffset: start + 2, rangeLength: 5, text: 'hated' }], 'I hated this movie!'],
    ['a deletion across the start', [{ rangeOffset: start - 3, rangeLength: 5, text: '' }], 'loved this movie!'],
    ['a deletion across the end', [{ rangeOffset: initial.end - 1, rangeLength: 3, text: '.' }], 'I loved this movie.'],
    ['everything replaced', [{ rangeOffset: 0, rangeLength: document.length, text: 'New text' }], 'New text'],
    [
      'an edit before plus one inside',
      [
        { rangeOffset: 0, rangeLength: 0, text: 'Hey. ' },
        { rangeOffset: start + 2, rangeLength: 5, text: 'liked' },
      ],
      'I liked this movie!',
    ],
  ];
  for (const [name, edits, covered] of touching) {
    it(`marks the analysis stale after ${name}, covering the text that replaced it`, () => {
      const tracked = applyEdits(initial, edits);
      expect(tracked.stale).toBe(true);
      expect(edit(document, edits).slice(tracked.start, tracked.end)).toBe(covered);
    });
  }

  it('stays stale once stale', () => {
    const stale = applyEdits(initial, [{ rangeOffset: start + 1, rangeLength: 0, text: 'x' }]);
    expect(applyEdits(stale, [{ rangeOffset: 0, rangeLength: 0, text: 'y' }]).stale).toBe(true);
  });
});
