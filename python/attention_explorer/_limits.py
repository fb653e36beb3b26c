"""The limits of the attention format (docs/ATTENTION_FORMAT.md), shared with the editor's reader.

``test/unit/attentionFile.test.ts`` reads this file with a regular expression and compares the numbers with
``src/shared/attentionFile.ts``: keep each limit a plain ``NAME = value`` line.

- ``MAX_ATTENTION_BYTES``: the decoded bytes of all attention tensors of one document together.
- ``MAX_DOCUMENT_BYTES``: the whole document as JSON text (UTF-8).
- ``MAX_TOKENS``: the tokens of one sequence.
- ``MAX_LAYERS``, ``MAX_HEADS``: the layers and heads of one attention tensor (after ``include_layers`` /
  ``include_heads``).
- ``MAX_TOKEN_LENGTH``: the length of one token string (and of the model name) in UTF-16 code units, as JavaScript
  counts them; longer strings are cut to fit and end with "…".
"""

MAX_ATTENTION_BYTES = 64 * 1024 * 1024
MAX_DOCUMENT_BYTES = 100 * 1024 * 1024
MAX_TOKENS = 100_000
MAX_LAYERS = 256
MAX_HEADS = 256
MAX_TOKEN_LENGTH = 256
