/**
 * Text that exercises everything a BERT tokenizer does to characters: accents it strips, case it folds (including
 * context-dependent folds), CJK it splits, emoji and ZWJ sequences it cannot read ([UNK]), RTL scripts, Hangul it
 * decomposes into jamo, control and zero-width characters it drops, tabs, CRLF and literal special tokens.
 */
export const TORTURE_TEXT = [
  'Héllo wörld! Ça va? naïve café — Ångström, façade.',
  '日本語のテキストと中文字符。',
  '한국어 텍스트',
  'Family 👨‍👩‍👧 and flag 🇫🇷 and 👍🏽 thumbs',
  'עברית מימין לשמאל and العربية',
  '\ttabs\tand\r\nCRLF newlines',
  'ΟΔΟΣ Σίσυφος İstanbul ﬁne straße',
  'zero\u200bwidth, soft\u00adhyphen, bell\u0007char',
  'e\u0301 combining, Z\u0351\u0334a\u0352lgo',
  'a [MASK] token and [UNK] written out',
  'supercalifragilisticexpialidocious',
].join('\n');
