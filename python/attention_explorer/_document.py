"""The attention document, version 1 of docs/ATTENTION_FORMAT.md, assembled from checked pieces."""

import base64
import json

from . import _tensor
from ._limits import MAX_ATTENTION_BYTES, MAX_DOCUMENT_BYTES, MAX_TOKEN_LENGTH, MAX_TOKENS

FORMAT = "attention-explorer.attention"
VERSION = 1
TABS = ("model", "head", "aggregates")
_MIB = 1024 * 1024


def utf16_length(text):
    """The length JavaScript gives `text` (UTF-16 code units: characters beyond U+FFFF count twice)."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def cut(text, limit=MAX_TOKEN_LENGTH):
    """`text` if it fits `limit` UTF-16 code units, else its start and "…" within the limit."""
    if len(text) * 2 <= limit or utf16_length(text) <= limit:
        return text
    kept, units = [], 0
    for ch in text:
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit - 1:
            break
        kept.append(ch)
    return "".join(kept) + "…"


def check_tokens(tokens, what="tokens"):
    """The tokens as a list of plain str, long ones cut; TypeError/ValueError for anything else."""
    if tokens is None or isinstance(tokens, (str, bytes)) or not hasattr(tokens, "__iter__"):
        raise TypeError(f"{what} must be a list of token strings (e.g. tokenizer.convert_ids_to_tokens(ids)),"
                        f" got {type(tokens).__name__}")
    result = []
    for index, token in enumerate(tokens):
        if not isinstance(token, str):
            raise TypeError(f"{what}[{index}] is {type(token).__name__} {token!r}: expected a token string"
                            " (e.g. tokenizer.convert_ids_to_tokens(ids), not the ids)")
        result.append(cut(str(token)))
    if not result:
        raise ValueError(f"{what} is empty: expected 1 … {MAX_TOKENS} token strings")
    if len(result) > MAX_TOKENS:
        raise ValueError(f"{what} has {len(result)} tokens; at most {MAX_TOKENS} fit a document")
    return result


def sequence(name, tokens, *, special=None, text=None, offsets=None, sentence_b_start=None):
    """A ``sequences[]`` entry; `offsets` are Python string indices into `text` (as Hugging Face gives them)."""
    entry = {"name": name, "tokens": tokens}
    count = len(tokens)
    if special is not None:
        entry["special"] = _special(special, count)
    if text is not None:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        entry["text"] = text
    if offsets is not None:
        if text is None:
            raise ValueError("offsets need text: give the text the tokenizer read as text=...")
        entry["offsets"] = _offsets(offsets, text, count, entry.get("special"))
    if sentence_b_start is not None:
        sentence_b_start = _tensor.integer(sentence_b_start, "sentence_b_start")
        if not 0 < sentence_b_start < count:
            raise ValueError(f"sentence_b_start is {sentence_b_start}: expected the index of the second"
                             f" sentence's first token, 1 … {count - 1} for {count} tokens")
    entry["sentenceBStart"] = sentence_b_start
    return entry


def _special(special, count):
    flags = list(special)
    if len(flags) != count:
        raise ValueError(f"special has {len(flags)} entries but there are {count} tokens")
    for index, flag in enumerate(flags):
        if flag not in (True, False):
            raise TypeError(f"special[{index}] is {flag!r}: expected True or False")
    return [bool(flag) for flag in flags]


def _offsets(offsets, text, count, special):
    if hasattr(offsets, "tolist"):  # NumPy arrays and PyTorch tensors of shape [n, 2] (or [1, n, 2])
        offsets = offsets.tolist()
    pairs = list(offsets)
    if len(pairs) == 1 and count != 1 and len(pairs[0]) == count:  # return_tensors="pt": a batch of one
        pairs = list(pairs[0])
    if len(pairs) != count:
        raise ValueError(f"offsets has {len(pairs)} entries but there are {count} tokens")
    # The format counts UTF-16 code units (JavaScript string indices); Python counts code points.
    units = None
    if not text.isascii() and any(ord(ch) > 0xFFFF for ch in text):
        units, total = [0], 0
        for ch in text:
            total += 2 if ord(ch) > 0xFFFF else 1
            units.append(total)
    result = []
    for index, pair in enumerate(pairs):
        try:
            start, end = (_tensor.integer(v, f"offsets[{index}]") for v in pair)
        except (TypeError, ValueError):
            raise TypeError(f"offsets[{index}] is {pair!r}: expected a pair of integers (start, end)") from None
        if not 0 <= start <= end <= len(text):
            raise ValueError(f"offsets[{index}] is ({start}, {end}): expected 0 ≤ start ≤ end ≤ {len(text)}"
                             " (the length of text)")
        if special is not None and special[index] and (start, end) != (0, 0):
            raise ValueError(f"offsets[{index}] is ({start}, {end}) but token {index} is special;"
                             " special tokens have (0, 0)")
        result.append([start, end] if units is None else [units[start], units[end]])
    return result


def check_view(view, attentions):
    """A ``view`` entry (dict with tab, layer, head), checked against the stored layers and heads."""
    if view is None:
        return None
    if not isinstance(view, dict):
        raise TypeError(f"view must be a dict like {{'tab': 'model', 'layer': 0, 'head': 0}}, got"
                        f" {type(view).__name__}")
    unknown = set(view) - {"tab", "layer", "head"}
    if unknown:
        raise ValueError(f"view has unknown keys {sorted(unknown)}: expected 'tab', 'layer', 'head'")
    result = {}
    if "tab" in view:
        if view["tab"] not in TABS:
            raise ValueError(f"view['tab'] is {view['tab']!r}: expected one of {', '.join(map(repr, TABS))}")
        result["tab"] = view["tab"]
    for key, size in (("layer", min(a["layers"] for a in attentions)),
                      ("head", min(a["heads"] for a in attentions))):
        if key in view:
            value = _tensor.integer(view[key], f"view['{key}']")
            if not 0 <= value < size:
                raise ValueError(f"view['{key}'] is {value}: the document stores {size} {key}s, 0 … {size - 1}"
                                 " (indices into the stored ones, not the model's numbering)")
            result[key] = value
    return result


def _bytes_at(plans, itemsize, *, max_layers=None, max_tokens=None):
    total = 0
    for p in plans:
        layers = p.layers if max_layers is None else min(p.layers, max_layers)
        rows = p.rows if max_tokens is None else min(p.rows, max_tokens)
        cols = p.cols if max_tokens is None else min(p.cols, max_tokens)
        total += layers * p.heads * rows * cols * itemsize
    return total


def _largest(fits, high):
    """The largest n in 0 … high with fits(n), for a `fits` that holds up to some n and not after it."""
    low = 0
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def check_size(plans, precision):
    """ValueError when the tensors of `plans` exceed MAX_ATTENTION_BYTES, saying what would fit."""
    itemsize = _tensor.PRECISIONS[precision]
    total = _bytes_at(plans, itemsize)
    if total <= MAX_ATTENTION_BYTES:
        return
    shapes = ", ".join(f"{p.name}: {p.layers} layers × {p.heads} heads × {p.rows} × {p.cols}" for p in plans)
    ways = []
    if precision == "float32":
        half = _bytes_at(plans, 2)
        alone = "" if half <= MAX_ATTENTION_BYTES else ", not enough alone"
        ways.append(f"precision='float16' ({half / _MIB:.1f} MiB{alone})")
    layers = _largest(lambda k: _bytes_at(plans, itemsize, max_layers=k) <= MAX_ATTENTION_BYTES,
                      max(p.layers for p in plans))
    if layers:
        ways.append(f"include_layers with at most {layers} layers (e.g. include_layers=list(range({layers})))")
    longest = max(max(p.rows, p.cols) for p in plans)

    def tokens_at(size):
        return _largest(lambda n: _bytes_at(plans, size, max_tokens=n) <= MAX_ATTENTION_BYTES, longest)

    fewer = f"at most {tokens_at(itemsize)} tokens{' per sequence' if len(plans) > 1 else ''}"
    if precision == "float32" and _bytes_at(plans, 2) > MAX_ATTENTION_BYTES:
        fewer += f" ({tokens_at(2)} with precision='float16')"
    ways.append(fewer)
    raise ValueError(f"the attention is {total / _MIB:.1f} MiB as {precision} ({shapes}), above the limit of"
                     f" {MAX_ATTENTION_BYTES / _MIB:g} MiB of weights per document (MAX_ATTENTION_BYTES)."
                     f" What would fit: {'; or '.join(ways)}.")


def build(sequences, plans, *, precision, model=None, view=None):
    """The document dict for `sequences` and `plans`, a list of (plan, queries' sequence, keys' sequence)."""
    precision = _tensor.check_precision(precision)
    if model is not None:
        if not isinstance(model, str):
            raise TypeError(f"model must be a str (the model's name), got {type(model).__name__}")
        model = cut(model)
    check_size([p for p, _, _ in plans], precision)
    view = check_view(view, [{"layers": p.layers, "heads": p.heads} for p, _, _ in plans])  # before the work
    attentions = []
    for plan, queries, keys in plans:
        data, causal = _tensor.encode(plan, precision, detect_causal=queries == keys)
        attentions.append({
            "name": plan.name,
            "queries": queries,
            "keys": keys,
            "layers": plan.layers,
            "heads": plan.heads,
            "layerIndices": plan.layer_indices,
            "causal": causal,
            "dtype": precision,
            "data": base64.b64encode(data).decode("ascii"),
        })
    document = {"format": FORMAT, "version": VERSION, "model": model, "sequences": sequences,
                "attentions": attentions}
    if view is not None:
        document["view"] = view
    _check_text_size(document)
    return document


def _check_text_size(document):
    data = sum(len(a["data"]) for a in document["attentions"])
    # A bound first (UTF-8 takes at most 4 bytes a character; the other fields are small): the common case is
    # decided without encoding the document.
    if data + 4 * len(json.dumps(document["sequences"], ensure_ascii=False)) + 65536 <= MAX_DOCUMENT_BYTES:
        return
    rest = {**document, "attentions": [{**a, "data": ""} for a in document["attentions"]]}
    size = data + len(to_json(rest).encode("utf-8"))
    if size > MAX_DOCUMENT_BYTES:
        raise ValueError(f"the document would be {size / _MIB:.1f} MiB of JSON, above the limit of"
                         f" {MAX_DOCUMENT_BYTES / _MIB:g} MiB (MAX_DOCUMENT_BYTES): use fewer or shorter tokens,"
                         " fewer layers (include_layers) or precision='float16'")


def to_json(document):
    """The document as compact JSON text (non-ASCII characters kept: files are UTF-8)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))
