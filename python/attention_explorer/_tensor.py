"""Attention weights in, little-endian bytes out.

Two stages, so that a refusal is cheap: `plan` reads only shapes (``.shape``, or the lengths of nested lists) and
checks them against the tokens and the options; `encode` then converts one layer at a time, checks the values and
packs them. NumPy is used when the input is an array (and so NumPy is already imported); nested lists are packed
with the standard library alone.
"""

import math
import operator
import struct
import sys
from array import array
from dataclasses import dataclass
from typing import List, Optional

from ._limits import MAX_HEADS, MAX_LAYERS

PRECISIONS = {"float32": 4, "float16": 2}
_LARGEST = {"float32": struct.unpack("<f", b"\xff\xff\x7f\x7f")[0], "float16": 65504.0}
_NUMPY_DTYPE = {"float32": "<f4", "float16": "<f2"}


@dataclass
class Plan:
    """One attention tensor as it will be written: which layers and heads of the input, and its dimensions."""
    name: str
    layer_objects: list          # the input's per-layer objects, those kept, in order
    layer_indices: Optional[List[int]]
    head_indices: Optional[List[int]]
    batch_index: Optional[int]   # None: the input has no batch axis
    input_heads: int
    heads: int
    rows: int
    cols: int

    @property
    def layers(self):
        return len(self.layer_objects)

    def model_layer(self, position):
        return self.layer_indices[position] if self.layer_indices is not None else position

    def model_head(self, position):
        return self.head_indices[position] if self.head_indices is not None else position


def check_precision(precision):
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be 'float32' or 'float16', got {precision!r}")
    return precision


def integer(value, what):
    """`value` as an int (NumPy integers too); TypeError for floats, bools and anything else."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, got {type(value).__name__} {value!r}") from None


def index_list(values, what, count, unit):
    """`values` as a list of distinct ints in 0 … count − 1, or None when `values` is None."""
    if values is None:
        return None
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{what} must be a list of {unit} indices, got {type(values).__name__}")
    result = []
    for position, value in enumerate(values):
        value = integer(value, f"{what}[{position}]")
        if not 0 <= value < count:
            raise ValueError(f"{what} has {unit} {value}, but the attention has {count} {unit}s (0 … {count - 1})")
        if value in result:
            raise ValueError(f"{what} has {unit} {value} twice")
        result.append(value)
    if not result:
        raise ValueError(f"{what} is empty: give at least one {unit} index, or None for all {unit}s")
    return result


def _shape(value):
    """The shape of an array (``.shape``) or of nested lists (the first element at each depth)."""
    shape = []
    while isinstance(value, (list, tuple)):
        shape.append(len(value))
        if not value:
            return tuple(shape)
        value = value[0]
    if hasattr(value, "shape"):
        shape.extend(int(d) for d in value.shape)
    return tuple(shape)


def _is_nested(value):
    return isinstance(value, (list, tuple))


def _as_numpy(value):
    """A NumPy array for an array-like: PyTorch tensors (also on a GPU, also bfloat16), NumPy, or ``__array__``."""
    if hasattr(value, "detach"):
        tensor = value.detach().cpu()
        try:
            return tensor.numpy()
        except TypeError:
            # NumPy has no bfloat16: PyTorch refuses .numpy() for it. float() widens without losing a weight.
            if hasattr(tensor, "float"):
                return tensor.float().numpy()
            raise
    if hasattr(value, "numpy") and callable(value.numpy):
        return value.numpy()
    numpy = sys.modules.get("numpy")
    if numpy is None:
        raise TypeError(f"attention must be arrays, tensors or nested lists of numbers, got {type(value).__name__}")
    return numpy.asarray(value)


def _label(name):
    return "attention" if name == "attention" else f"{name} attention"


def _layers(label, attention):
    """(the per-layer objects, the shape of each) of `attention`, from shapes alone where the input has them."""
    if _is_nested(attention):
        layers = list(attention)
        if not layers:
            raise ValueError(f"{label} is empty: expected one [batch, heads, rows, cols] array per layer")
        shapes = [_shape(layer) for layer in layers]
        for position, shape in enumerate(shapes):
            if shape != shapes[0]:
                raise ValueError(f"{label}: layer {position} has shape {shape}, but layer 0 has {shapes[0]};"
                                 " every layer must have the same shape")
        return layers, shapes[0]
    if attention is None or isinstance(attention, (str, bytes, dict)) or not (
            hasattr(attention, "shape") or hasattr(attention, "detach") or hasattr(attention, "__array__")):
        raise TypeError(f"{label} must be a tuple or list of per-layer arrays (outputs.attentions), an array or"
                        f" nested lists, got {type(attention).__name__}")

    def dimensions(value):
        full = tuple(int(d) for d in value.shape)
        if len(full) not in (4, 5) or full[0] == 0:
            raise ValueError(f"{label} has shape {full}: expected [layers, batch, heads, rows, cols] or"
                             " [layers, heads, rows, cols] (or a tuple of [batch, heads, rows, cols] per layer)")
        return full

    if hasattr(attention, "shape"):
        dimensions(attention)  # refused before any conversion
    if not (hasattr(attention, "shape") and hasattr(attention, "__getitem__")):
        attention = _as_numpy(attention)
    full = dimensions(attention)
    # Indexing NumPy arrays and PyTorch tensors makes views: nothing is copied before the checks pass.
    return [attention[i] for i in range(full[0])], full[1:]


def _batch(label, batch_index, layer_shape):
    """The checked batch index, or None when the layers have no batch axis."""
    batch_index = integer(batch_index, "batch_index")
    if len(layer_shape) == 3:
        if batch_index != 0:
            raise ValueError(f"batch_index is {batch_index}, but {label} has no batch axis"
                             f" (each layer is [heads, rows, cols] = {list(layer_shape)})")
        return None
    batch = layer_shape[0]
    if not 0 <= batch_index < batch:
        raise ValueError(f"batch_index {batch_index} is out of range: {label} has a batch of {batch}"
                         f" (0 … {batch - 1})")
    return batch_index


def plan(name, attention, *, rows, cols, self_attention, batch_index=0, include_layers=None, include_heads=None):
    """Checks the shapes of `attention` against `rows` × `cols` tokens and the options; converts nothing.

    `attention` is what Hugging Face returns as ``outputs.attentions``: a tuple of ``[batch, heads, rows, cols]``
    per layer; or one array ``[layers, batch, heads, rows, cols]``, or ``[layers, heads, rows, cols]`` without a
    batch axis.
    """
    label = _label(name)
    layers, layer_shape = _layers(label, attention)
    if len(layer_shape) not in (3, 4):
        raise ValueError(f"{label}: each layer has shape {layer_shape}; expected [batch, heads, rows, cols] or"
                         " [heads, rows, cols] (did the model run with output_attentions=True?)")
    batch_index = _batch(label, batch_index, layer_shape)
    input_heads, found_rows, found_cols = layer_shape[-3:]
    layer_indices = index_list(include_layers, "include_layers", len(layers), "layer")
    head_indices = index_list(include_heads, "include_heads", input_heads, "head")
    kept = layers if layer_indices is None else [layers[i] for i in layer_indices]
    heads = input_heads if head_indices is None else len(head_indices)

    if self_attention and found_rows != found_cols:
        raise ValueError(f"{label} is not square: {found_rows} queries × {found_cols} keys, but self-attention"
                         f" over {rows} tokens is {rows} × {rows}")
    if (found_rows, found_cols) != (rows, cols):
        raise ValueError(f"{label} is {found_rows} × {found_cols} (queries × keys), but the tokens make it"
                         f" {rows} × {cols}: give the tokens of this input (len(tokens) must equal its"
                         " sequence length)")
    if len(kept) > MAX_LAYERS:
        raise ValueError(f"{label} has {len(kept)} layers; at most {MAX_LAYERS} fit a document"
                         " (choose some with include_layers)")
    if not 0 < heads <= MAX_HEADS:
        raise ValueError(f"{label} has {heads} heads; 1 … {MAX_HEADS} fit a document")
    return Plan(name, kept, layer_indices, head_indices, batch_index, input_heads, heads, rows, cols)


def encode(plan, precision, *, detect_causal):
    """The tensor `plan` describes as little-endian bytes of `precision`, ``[layers, heads, rows, cols]``.

    Returns ``(data, causal)``: `causal` is True when `detect_causal` is set and every weight above the diagonal is
    exactly 0 (how a decoder's masked self-attention comes out of the softmax).
    """
    chunks, causal = [], detect_causal and plan.rows > 1
    for position, layer in enumerate(plan.layer_objects):
        pack = _pack_nested if _is_nested(layer) else _pack_numpy
        data, upper_zero = pack(plan, position, layer, precision, causal)
        chunks.append(data)
        causal = causal and upper_zero
    return b"".join(chunks), causal


def _where(plan, position):
    return f"{_label(plan.name)}, layer {plan.model_layer(position)}"


def _bad_weight(plan, position, head, row, col, value, precision):
    where = f"{_where(plan, position)}, head {plan.model_head(head)}, row {row}, column {col}"
    if value != value:
        problem = "is NaN"
    elif value in (math.inf, -math.inf):
        problem = f"is {'-' if value < 0 else ''}infinite"
    elif value < 0:
        problem = f"is negative ({value!r})"
    else:
        hint = "; use precision='float32'" if precision == "float16" else ""
        return ValueError(f"{where}: the weight {value!r} is larger than {precision} can hold"
                          f" ({_LARGEST[precision]!r}){hint}")
    return ValueError(f"{where}: the weight {problem}; attention weights must be finite and non-negative"
                      " (softmax outputs, as the model produced them)")


def _pack_numpy(plan, position, layer, precision, want_causal):
    if plan.batch_index is not None:
        # Before the conversion where the tensor allows it: only that row leaves the GPU.
        layer = layer[plan.batch_index] if hasattr(layer, "__getitem__") else _as_numpy(layer)[plan.batch_index]
    values = _as_numpy(layer)
    numpy = sys.modules["numpy"]  # loaded: _as_numpy made an ndarray
    expected = (plan.input_heads, plan.rows, plan.cols)
    if tuple(values.shape) != expected:
        raise ValueError(f"{_where(plan, position)} has shape {tuple(values.shape)} after batch selection,"
                         f" expected {expected}")
    if plan.head_indices is not None:
        values = values[plan.head_indices]
    if values.dtype.kind not in "fiu":
        raise TypeError(f"{_where(plan, position)}: weights must be real numbers, found dtype {values.dtype}")
    bad = ~((values >= 0) & (values <= numpy.float64(_LARGEST[precision])))  # a float64 limit: no cast to float16
    if bad.any():
        head, row, col = (int(i) for i in numpy.argwhere(bad)[0])
        raise _bad_weight(plan, position, head, row, col, float(values[head, row, col]), precision)
    upper_zero = want_causal and not numpy.triu(values, 1).any()
    return numpy.ascontiguousarray(values, dtype=_NUMPY_DTYPE[precision]).tobytes(), upper_zero


def _pack_nested(plan, position, layer, precision, want_causal):
    if plan.batch_index is not None:
        layer = layer[plan.batch_index]
    if len(layer) != plan.input_heads:
        raise ValueError(f"{_where(plan, position)} has {len(layer)} heads, layer 0 has {plan.input_heads}")
    largest, chunks, upper_zero = _LARGEST[precision], [], want_causal
    for head in range(plan.heads):
        rows = layer[plan.model_head(head)]
        if len(rows) != plan.rows:
            raise ValueError(f"{_where(plan, position)}, head {plan.model_head(head)} has {len(rows)} rows,"
                             f" expected {plan.rows}")
        values = []
        for row_number, row in enumerate(rows):
            if len(row) != plan.cols:
                raise ValueError(f"{_where(plan, position)}, head {plan.model_head(head)}, row {row_number} has"
                                 f" {len(row)} weights, expected {plan.cols}")
            values.extend(row)
            if upper_zero and any(row[row_number + 1:]):
                upper_zero = False
        for index, value in enumerate(values):
            try:
                ok = 0.0 <= value <= largest
            except TypeError:
                raise TypeError(f"{_where(plan, position)}, head {plan.model_head(head)}: weights must be numbers,"
                                f" found {type(value).__name__} {value!r}") from None
            if not ok:
                row, col = divmod(index, plan.cols)
                raise _bad_weight(plan, position, head, row, col, float(value), precision)
        chunks.append(_pack_floats(values, precision))
    return b"".join(chunks), upper_zero


def _pack_floats(values, precision):
    if precision == "float16":
        return struct.pack(f"<{len(values)}e", *values)
    packed = array("f", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()
