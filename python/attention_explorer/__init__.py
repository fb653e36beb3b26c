"""Transformer attention from Python, shown by the Attention Explorer extension in VS Code.

    from attention_explorer import show
    outputs = model(**inputs, output_attentions=True)
    show(outputs.attentions, tokenizer.convert_ids_to_tokens(inputs["input_ids"][0]))

In a VS Code notebook the output is the extension's interactive view; elsewhere a static picture. bertviz users
change one line: ``from attention_explorer import head_view`` (or ``model_view``). :func:`save` writes the same
data as a ``.attention.json`` file that VS Code opens in the Attention Explorer panel.

Standard library only; NumPy and PyTorch inputs are used when given, never imported here.
"""

from ._api import save, show
from ._bertviz import head_view, model_view
from ._view import MIME_TYPE, AttentionView

__version__ = "0.1.0"
__all__ = ["MIME_TYPE", "AttentionView", "head_view", "model_view", "save", "show"]
