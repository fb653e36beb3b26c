"""head_view and model_view with bertviz's arguments: `from attention_explorer import head_view` is the migration.

The signatures are bertviz 1.4.1's (jessevig/bertviz, bertviz/head_view.py and bertviz/model_view.py), in its
order, so positional calls keep working; the keyword-only arguments after them are this package's own.
"""

import sys

from . import _document, _tensor
from ._view import AttentionView


def head_view(attention=None, tokens=None, sentence_b_start=None, prettify_tokens=True, layer=None, heads=None,
              encoder_attention=None, decoder_attention=None, cross_attention=None, encoder_tokens=None,
              decoder_tokens=None, include_layers=None, html_action='view', *, model=None, batch_index=0,
              precision="float32"):
    """bertviz's head view, opened in VS Code's Attention Explorer: returns an :class:`AttentionView`.

    For self-attention models give `attention` (``outputs.attentions``) and `tokens`; for encoder-decoder models
    any of `encoder_attention`, `decoder_attention`, `cross_attention` with `encoder_tokens` and/or
    `decoder_tokens`, as bertviz takes them. `attention` may be anything :func:`attention_explorer.show` takes.

    Args:
        prettify_tokens: as bertviz: "Ġ" and "▁" become spaces and "</w>" is dropped from the token strings.
        layer: the layer shown first (the model's layer number; with `include_layers`, one of them).
        heads: the head shown first is ``heads[0]`` (the viewer focuses one head at a time).
        include_layers: the indices of the layers to keep (written as ``layerIndices``).
        html_action: ``'view'`` displays the view at once in a running IPython/Jupyter kernel (as bertviz does)
            and returns it; the same cell does not show it twice. ``'return'`` only returns it. bertviz returned an
            IPython ``HTML`` object there; this is an :class:`AttentionView` (display it, or ``.save(path)`` it).
        model, batch_index, precision: as in :func:`attention_explorer.show` (not in bertviz).
    """
    view = {"tab": "head", "head": heads[0] if heads is not None and len(heads) else 0}
    if layer is not None:
        if include_layers is not None and layer not in include_layers:
            raise ValueError(f"Layer {layer} is not in include_layers: {include_layers}")
        view["layer"] = list(include_layers).index(layer) if include_layers is not None else layer
    else:
        view["layer"] = 0
    return _view(view, attention, tokens, sentence_b_start, prettify_tokens, encoder_attention, decoder_attention,
                 cross_attention, encoder_tokens, decoder_tokens, include_layers, None, html_action,
                 model=model, batch_index=batch_index, precision=precision)


def model_view(attention=None, tokens=None, sentence_b_start=None, prettify_tokens=True, display_mode="dark",
               encoder_attention=None, decoder_attention=None, cross_attention=None, encoder_tokens=None,
               decoder_tokens=None, include_layers=None, include_heads=None, html_action='view', *, model=None,
               batch_index=0, precision="float32"):
    """bertviz's model view (every layer × head), opened in VS Code's Attention Explorer.

    The arguments are :func:`head_view`'s, and:
        display_mode: accepted and ignored: the view follows VS Code's colour theme.
        include_heads: the indices of the heads to keep, in the order given. The format stores no head numbers,
            so the viewer numbers the kept heads 0, 1, …; keep them in the model's order to read them easily.
    """
    return _view({"tab": "model"}, attention, tokens, sentence_b_start, prettify_tokens, encoder_attention,
                 decoder_attention, cross_attention, encoder_tokens, decoder_tokens, include_layers, include_heads,
                 html_action, model=model, batch_index=batch_index, precision=precision)


def format_special_chars(tokens):
    """bertviz's prettify_tokens, exactly: "Ġ" (GPT-2, RoBERTa) and "▁" (SentencePiece) to spaces, "</w>" gone."""
    return [t.replace('Ġ', ' ').replace('▁', ' ').replace('</w>', '') for t in tokens]


def _view(view, attention, tokens, sentence_b_start, prettify_tokens, encoder_attention, decoder_attention,
          cross_attention, encoder_tokens, decoder_tokens, include_layers, include_heads, html_action, *, model,
          batch_index, precision):
    if html_action not in ("view", "return"):
        raise ValueError("'html_action' parameter must be 'view' or 'return'")

    def tokens_of(value, what):
        value = _document.check_tokens(value, what)
        return format_special_chars(value) if prettify_tokens else value

    def plan(name, value, queries, keys):
        return (_tensor.plan(name, value, rows=len(sequences[queries]), cols=len(sequences[keys]),
                             self_attention=queries == keys, batch_index=batch_index, include_layers=include_layers,
                             include_heads=include_heads), queries, keys)

    if attention is not None:
        if tokens is None:
            raise ValueError("'tokens' is required")
        if any(v is not None for v in (encoder_attention, decoder_attention, cross_attention, encoder_tokens,
                                        decoder_tokens)):
            raise ValueError("If you specify 'attention' you may not specify any encoder-decoder arguments. This"
                             " argument is only for self-attention models.")
        sequences = {"tokens": tokens_of(tokens, "tokens")}
        plans = [plan("attention", attention, "tokens", "tokens")]
    elif any(v is not None for v in (encoder_attention, decoder_attention, cross_attention)):
        if encoder_attention is not None and encoder_tokens is None:
            raise ValueError("'encoder_tokens' required if 'encoder_attention' is not None")
        if decoder_attention is not None and decoder_tokens is None:
            raise ValueError("'decoder_tokens' required if 'decoder_attention' is not None")
        if cross_attention is not None and encoder_tokens is None:
            raise ValueError("'encoder_tokens' required if 'cross_attention' is not None")
        if cross_attention is not None and decoder_tokens is None:
            raise ValueError("'decoder_tokens' required if 'cross_attention' is not None")
        sequences = {}
        if encoder_attention is not None or cross_attention is not None:
            sequences["encoder"] = tokens_of(encoder_tokens, "encoder_tokens")
        if decoder_attention is not None or cross_attention is not None:
            sequences["decoder"] = tokens_of(decoder_tokens, "decoder_tokens")
        plans = [plan(name, value, queries, keys) for name, value, queries, keys in (
            ("encoder", encoder_attention, "encoder", "encoder"),
            ("decoder", decoder_attention, "decoder", "decoder"),
            ("cross", cross_attention, "decoder", "encoder"),
        ) if value is not None]
        sentence_b_start = None  # as bertviz, which ignores it for encoder-decoder models
    else:
        raise ValueError("You must specify at least one attention argument.")

    entries = [_document.sequence(name, t, sentence_b_start=sentence_b_start) for name, t in sequences.items()]
    result = AttentionView(_document.build(entries, plans, precision=precision, model=model, view=view))
    if html_action == "view":
        _display_now(result)
    return result


def _display_now(view):
    # Without IPython imported no kernel can be running: nothing to display into (and no import to pay for).
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is None:
        return
    from IPython.display import display
    display(view)
    view._echo_of = getattr(shell, "execution_count", None)
