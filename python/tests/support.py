"""Inputs for the tests: pseudo-random attention, a PyTorch-like tensor, and an assertion of the format."""

import math
import random
import struct
import unittest

from tests.format_validator import problems

try:
    import numpy
except ImportError:  # the package needs no NumPy; the tests that do are skipped
    numpy = None

needs_numpy = unittest.skipIf(numpy is None, "NumPy is not installed: its inputs are not tested")


def random_attention(seed, layers, heads, rows, cols=None, *, batch=1, causal=False):
    """Nested lists like outputs.attentions: one [batch, heads, rows, cols] per layer, rows softmax-normalised."""
    rng = random.Random(seed)
    cols = rows if cols is None else cols
    result = []
    for _ in range(layers):
        layer = []
        for _ in range(batch):
            row_block = []
            for _ in range(heads):
                head = []
                for i in range(rows):
                    w = [math.exp(rng.uniform(-3, 3)) if not causal or j <= i else 0.0 for j in range(cols)]
                    total = sum(w)
                    head.append([v / total for v in w])
                row_block.append(head)
            layer.append(row_block)
        result.append(layer)
    return result


def flatten(nested):
    if isinstance(nested, (list, tuple)):
        return [v for item in nested for v in flatten(item)]
    return [nested]


def as_float32(values):
    """What `values` become as float32, read back."""
    return [struct.unpack("<f", struct.pack("<f", v))[0] for v in values]


def as_float16(values):
    """What `values` become as float16 (IEEE binary16, round to nearest even), read back."""
    return [struct.unpack("<e", struct.pack("<e", v))[0] for v in values]


class FakeTensor:
    """What the package may assume of a PyTorch tensor: .shape and .detach().cpu().numpy()."""

    def __init__(self, array):
        self._array = array
        self.shape = array.shape
        self.calls = []

    def detach(self):
        self.calls.append("detach")
        return self

    def cpu(self):
        self.calls.append("cpu")
        return self

    def numpy(self):
        self.calls.append("numpy")
        return self._array


class FormatAssertions:
    """A mixin for TestCase (not a TestCase itself, so that importing it adds no tests)."""

    def assertValidDocument(self, document):
        found = problems(document)
        self.assertEqual(found, [], "the document breaks docs/ATTENTION_FORMAT.md")
