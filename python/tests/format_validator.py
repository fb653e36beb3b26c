"""Every rule of docs/ATTENTION_FORMAT.md (version 1), checked independently of the package's own code.

Kept in the tests, not the package: a second reading of the format, so a writer bug is not mirrored by the checker.
"""

import base64
import binascii
import json
import math
import re
import struct

MAX_ATTENTION_BYTES = 64 * 1024 * 1024
MAX_TEXT_BYTES = 100 * 1024 * 1024
_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")


def _js_length(text):
    return len(text.encode("utf-16-le")) // 2


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def decode(attention):
    """The weights of one attention entry as a flat tuple of floats."""
    raw = base64.b64decode(attention["data"], validate=True)
    code = "f" if attention["dtype"] == "float32" else "e"
    return struct.unpack(f"<{len(raw) // struct.calcsize(code)}{code}", raw)


def problems(document):
    """The rules `document` breaks, as messages; empty when it is a valid version 1 document."""
    found = []

    def need(condition, message):
        if not condition:
            found.append(message)
        return condition

    if not need(isinstance(document, dict), "the document is not an object"):
        return found
    need(document.get("format") == "attention-explorer.attention", f"format is {document.get('format')!r}")
    need(_is_int(document.get("version")) and document.get("version") == 1, f"version is {document.get('version')!r}")
    model = document.get("model")
    need(model is None or (isinstance(model, str) and _js_length(model) <= 256), f"model {model!r}")

    sequences = document.get("sequences")
    lengths = {}
    if need(isinstance(sequences, list) and 1 <= len(sequences) <= 2, "sequences must be a list of 1 or 2"):
        for i, s in enumerate(sequences):
            if not need(isinstance(s, dict), f"sequences[{i}] is not an object"):
                continue
            name = s.get("name")
            need(isinstance(name, str), f"sequences[{i}].name {name!r}")
            need(name not in lengths, f"sequence name {name!r} twice")
            tokens = s.get("tokens")
            if not need(isinstance(tokens, list) and 1 <= len(tokens) <= 100_000, f"sequences[{i}].tokens"):
                continue
            lengths[name] = len(tokens)
            for j, t in enumerate(tokens):
                need(isinstance(t, str) and _js_length(t) <= 256, f"sequences[{i}].tokens[{j}] {t!r}")
            special = s.get("special")
            if special is not None:
                need(isinstance(special, list) and len(special) == len(tokens)
                     and all(isinstance(v, bool) for v in special), f"sequences[{i}].special")
            text = s.get("text")
            need(text is None or isinstance(text, str), f"sequences[{i}].text")
            offsets = s.get("offsets")
            if offsets is not None and need(isinstance(text, str), f"sequences[{i}].offsets without text") \
                    and need(isinstance(offsets, list) and len(offsets) == len(tokens), f"sequences[{i}].offsets"):
                for j, pair in enumerate(offsets):
                    ok = (isinstance(pair, list) and len(pair) == 2 and all(map(_is_int, pair))
                          and 0 <= pair[0] <= pair[1] <= _js_length(text))
                    need(ok, f"sequences[{i}].offsets[{j}] {pair!r}")
                    if ok and isinstance(special, list) and special[j]:
                        need(pair == [0, 0], f"sequences[{i}].offsets[{j}] of a special token is {pair!r}")
            b = s.get("sentenceBStart")
            need(b is None or (_is_int(b) and 0 < b < len(tokens)), f"sequences[{i}].sentenceBStart {b!r}")

    attentions = document.get("attentions")
    total = 0
    if need(isinstance(attentions, list) and 1 <= len(attentions) <= 3, "attentions must be a list of 1 … 3"):
        names = set()
        for i, a in enumerate(attentions):
            if not need(isinstance(a, dict), f"attentions[{i}] is not an object"):
                continue
            need(isinstance(a.get("name"), str) and a.get("name") not in names, f"attentions[{i}].name")
            names.add(a.get("name"))
            queries, keys = a.get("queries"), a.get("keys")
            need(queries in lengths and keys in lengths, f"attentions[{i}] queries/keys {queries!r}/{keys!r}")
            layers, heads = a.get("layers"), a.get("heads")
            need(_is_int(layers) and 1 <= layers <= 256, f"attentions[{i}].layers {layers!r}")
            need(_is_int(heads) and 1 <= heads <= 256, f"attentions[{i}].heads {heads!r}")
            indices = a.get("layerIndices")
            need(indices is None or (isinstance(indices, list) and len(indices) == layers
                                     and all(_is_int(v) and v >= 0 for v in indices)
                                     and len(set(indices)) == len(indices)), f"attentions[{i}].layerIndices")
            causal = a.get("causal", False)
            need(isinstance(causal, bool), f"attentions[{i}].causal {causal!r}")
            dtype = a.get("dtype")
            need(dtype in ("float32", "float16"), f"attentions[{i}].dtype {dtype!r}")
            data = a.get("data")
            if not need(isinstance(data, str) and _BASE64.match(data), f"attentions[{i}].data is not padded base64"):
                continue
            if queries not in lengths or keys not in lengths or dtype not in ("float32", "float16") \
                    or not _is_int(layers) or not _is_int(heads):
                continue
            try:
                raw = base64.b64decode(data, validate=True)
            except binascii.Error:
                need(False, f"attentions[{i}].data does not decode")
                continue
            expected = layers * heads * lengths[queries] * lengths[keys] * (4 if dtype == "float32" else 2)
            total += len(raw)
            if need(len(raw) == expected, f"attentions[{i}].data has {len(raw)} bytes, expected {expected}"):
                values = decode(a)
                need(all(math.isfinite(v) and v >= 0 for v in values), f"attentions[{i}] has a bad weight")
        need(total <= MAX_ATTENTION_BYTES, f"{total} bytes of attention")

    view = document.get("view")
    if view is not None and need(isinstance(view, dict), "view is not an object") and isinstance(attentions, list):
        need(view.get("tab", "model") in ("model", "head", "aggregates"), f"view.tab {view.get('tab')!r}")
        for key, field in (("layer", "layers"), ("head", "heads")):
            if key in view:
                sizes = [a.get(field) for a in attentions if isinstance(a, dict) and _is_int(a.get(field))]
                need(_is_int(view[key]) and sizes and 0 <= view[key] < min(sizes), f"view.{key} {view[key]!r}")
    need(len(json.dumps(document, ensure_ascii=False).encode("utf-8")) <= MAX_TEXT_BYTES, "text above 100 MiB")
    return found
