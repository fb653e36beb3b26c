"""show() and save(): attention of one token sequence (a BERT or a GPT-2), as a view or a file."""

from . import _document, _tensor
from ._view import AttentionView, check_path


def show(attention, tokens, *, batch_index=0, sentence_b_start=None, model=None, text=None, offsets=None,
         special=None, precision="float32", include_layers=None, view=None):
    """Attention maps of one model over one token sequence, as an :class:`AttentionView` to display.

    Args:
        attention: what a Hugging Face model returns as ``outputs.attentions`` (run it with
            ``output_attentions=True``): a tuple or list with one ``[batch, heads, n, n]`` array per layer —
            PyTorch tensors (anything with ``.detach().cpu().numpy()``, on any device), NumPy arrays or nested
            lists. One array ``[layers, batch, heads, n, n]``, or ``[layers, heads, n, n]`` without a batch axis,
            works too.
        tokens: the n token strings as the tokenizer wrote them (``tokenizer.convert_ids_to_tokens(ids)``).
            Strings longer than 256 UTF-16 code units (``MAX_TOKEN_LENGTH``) are cut and end with "…".
        batch_index: the batch row to show.
        sentence_b_start: the index of the second sentence's first token, for a sentence pair.
        model: the model's name, a label (cut like a token when longer than 256).
        text: the text the tokenizer read; with `offsets`, each token's ``(start, end)`` in it, Python string
            indices as ``return_offsets_mapping=True`` gives them (written as the UTF-16 indices the format uses).
        special: one bool per token: whether it is a special token (``[CLS]``, ``<s>``); left out, the viewer
            guesses from the text.
        precision: ``"float32"``, or ``"float16"`` for half the size (weights rounded to about 3 digits).
        include_layers: the indices of the layers to keep (written as ``layerIndices``); all when None.
        view: what the viewer shows first: ``{"tab": "model" | "head" | "aggregates", "layer": i, "head": j}``,
            `layer` and `head` counting the stored layers and heads.

    The weights are written as they are (never renormalised); NaN, infinite or negative ones are refused. When
    every weight above the diagonal is exactly 0 (a decoder's masked self-attention), the map is marked causal.

    Raises:
        TypeError, ValueError: saying what was expected and what was found — shapes that disagree with each other
            or with the tokens, a batch index out of range, bad weights (naming the layer and the head), more
            than the limits in ``attention_explorer._limits`` (above 64 MiB of weights, what would fit).
    """
    tokens = _document.check_tokens(tokens)
    plan = _tensor.plan("attention", attention, rows=len(tokens), cols=len(tokens), self_attention=True,
                        batch_index=batch_index, include_layers=include_layers)
    sequence = _document.sequence("tokens", tokens, special=special, text=text, offsets=offsets,
                                  sentence_b_start=sentence_b_start)
    return AttentionView(_document.build([sequence], [(plan, "tokens", "tokens")], precision=precision,
                                         model=model, view=view))


def save(path, attention=None, tokens=None, **options):
    """Writes attention maps to a ``.attention.json`` file, which VS Code opens in the Attention Explorer panel.

    Either ``save(path, view)`` with an :class:`AttentionView`, or ``save(path, attention, tokens, **options)``
    with the arguments of :func:`show`. The path must end in ``.attention.json`` (the suffix the editor opens);
    the file is UTF-8 JSON, written through a temporary file so a reader never sees half of it. Returns the path.
    """
    check_path(path)  # before the work of building the document
    if isinstance(attention, AttentionView):
        if tokens is not None or options:
            raise TypeError("save(path, view) takes no tokens or options: the view has them already")
        view = attention
    else:
        if attention is None or tokens is None:
            raise TypeError("save needs a view, save(path, view), or attention and tokens,"
                            " save(path, attention, tokens, ...)")
        view = show(attention, tokens, **options)
    return view.save(path)
