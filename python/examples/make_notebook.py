"""Writes a Jupyter notebook whose stored outputs attention_explorer produced: python3 make_notebook.py OUT.ipynb

The attention is pseudo-random (seeded, so the notebook is the same every time) and computed in pure Python: the
notebook shows the outputs without a kernel, numpy or a model. Each code cell's source is the code that made its
output: this script runs it.
"""

import ast
import json
import os
import sys

# The package beside this script, not an installed copy: the notebook shows this checkout's output.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

INTRO = """\
# Attention Explorer in a notebook

The outputs below were made by the `attention_explorer` Python package from **random attention weights**
(seeded, softmax-normalised rows), not by a real model. In VS Code with the Attention Explorer extension they
render as interactive views; elsewhere as a static heatmap."""

HELPER = '''\
import math
import random

from attention_explorer import head_view, model_view, show


def random_attention(seed, layers, heads, rows, cols, causal=False):
    """outputs.attentions-like: one [1, heads, rows, cols] list per layer, each row a softmax."""
    rng = random.Random(seed)
    attention = []
    for _ in range(layers):
        layer = []
        for _ in range(heads):
            head = []
            for i in range(rows):
                logits = [rng.uniform(-2.0, 2.0) for _ in range(cols)]
                weights = [math.exp(x) if not causal or j <= i else 0.0 for j, x in enumerate(logits)]
                total = sum(weights)
                head.append([w / total for w in weights])
            layer.append(head)
        attention.append([layer])
    return attention
'''

CELLS = [
    HELPER + '''

tokens = ["[CLS]", "the", "cat", "sat", "on", "mats", "[SEP]"]
attention = random_attention(1, layers=2, heads=3, rows=7, cols=7)
show(attention, tokens, model="test-bert (random weights)")''',
    '''\
tokens = ["The", "Ġcat", "Ġsat", "Ġon", "Ġthe", "Ġmat"]
attention = random_attention(2, layers=3, heads=2, rows=6, cols=6, causal=True)
head_view(attention, tokens, model="test-gpt2 (random weights)")''',
    '''\
encoder_tokens = ["▁The", "▁house", "▁is", "▁wonderful", ".", "</s>"]
decoder_tokens = ["<pad>", "▁Das", "▁Haus", "▁ist", "▁wunderbar"]
model_view(
    encoder_attention=random_attention(3, layers=2, heads=2, rows=6, cols=6),
    decoder_attention=random_attention(4, layers=2, heads=2, rows=5, cols=5, causal=True),
    cross_attention=random_attention(5, layers=2, heads=2, rows=5, cols=6),
    encoder_tokens=encoder_tokens,
    decoder_tokens=decoder_tokens,
    model="test-marian (random weights)",
)''',
]


def run_cell(source, namespace):
    """Runs `source` as a notebook cell does and returns the value of its last line (an expression)."""
    body = ast.parse(source)
    last = ast.Expression(body.body.pop().value)
    exec(compile(body, "<cell>", "exec"), namespace)
    return eval(compile(last, "<cell>", "eval"), namespace)


def lines(text):
    """A notebook's multi-line string: a list of lines, each but the last ending in a newline."""
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + [parts[-1]]


def notebook():
    namespace = {}
    cells = [{"cell_type": "markdown", "id": "intro", "metadata": {}, "source": lines(INTRO)}]
    for number, source in enumerate(CELLS, 1):
        view = run_cell(source, namespace)
        cells.append({
            "cell_type": "code",
            "execution_count": number,
            "id": f"attention-{number}",
            "metadata": {},
            "outputs": [{"output_type": "display_data", "data": view._repr_mimebundle_(), "metadata": {}}],
            "source": lines(source),
        })
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def main(argv):
    if len(argv) != 2:
        print("usage: python3 make_notebook.py OUT.ipynb", file=sys.stderr)
        return 2
    with open(argv[1], "w", encoding="utf-8") as f:
        json.dump(notebook(), f, ensure_ascii=False, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
