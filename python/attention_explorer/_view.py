"""AttentionView: the document with its notebook representations, and .attention.json files."""

import base64
import html
import os
import re
import secrets
import struct
import sys
from array import array

from . import _png
from ._document import to_json

MIME_TYPE = "application/vnd.attention-explorer.attention+json"
SUFFIX = ".attention.json"
_HTML_TOKENS = 512   # tokens listed per sequence in the HTML fallback
_PICTURE_CELLS = 256  # the picture's cells per side at most; longer sequences are sampled
_PICTURE_PIXELS = 320


class AttentionView:
    """Attention maps ready to show: a notebook output, a ``.attention.json`` file, or JSON text.

    Made by :func:`attention_explorer.show`, :func:`~attention_explorer.head_view` and
    :func:`~attention_explorer.model_view`. In VS Code with the Attention Explorer extension a notebook renders it
    interactively (its MIME type, :data:`attention_explorer.MIME_TYPE`); elsewhere (GitHub, JupyterLab, nbviewer)
    the output falls back to a static picture (``text/html``) or a line of text (``text/plain``).
    """

    def __init__(self, document):
        self._document = document
        self._html = None
        self._echo_of = None  # set by head_view/model_view: see _ipython_display_

    @property
    def document(self):
        """The document (docs/ATTENTION_FORMAT.md, version 1) as a dict; shared, not a copy."""
        return self._document

    def to_json(self):
        """The document as compact JSON text."""
        return to_json(self._document)

    def save(self, path):
        """Writes the document to `path`, which must end in ``.attention.json``; returns the path as a str."""
        return write_file(path, self.to_json())

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The notebook output: the MIME type's document, a self-contained ``text/html`` picture, ``text/plain``."""
        bundle = {}
        for kind, make in ((MIME_TYPE, lambda: self._document), ("text/html", self._fallback_html),
                           ("text/plain", self.__repr__)):
            if (include is None or kind in include) and (exclude is None or kind not in exclude):
                bundle[kind] = make()
        return bundle

    def _ipython_display_(self):
        # head_view and model_view display at once, as bertviz does, and also return the view, so that the usual
        # `head_view(...)` as a cell's last line would show it twice: the echo in that same cell is skipped.
        from IPython import get_ipython
        from IPython.display import display
        shell = get_ipython()
        count = getattr(shell, "execution_count", None)
        if self._echo_of is not None and self._echo_of == count:
            self._echo_of = None
            return
        display(self._repr_mimebundle_(), raw=True)

    def __repr__(self):
        parts = [f"model={self._document.get('model')!r}"]
        attentions, sequences = self._document["attentions"], self._document["sequences"]
        for a in attentions:
            prefix = "" if len(attentions) == 1 else f"{a['name']} "
            parts.append(f"{prefix}{a['layers']} layers × {a['heads']} heads")
        for s in sequences:
            prefix = "" if len(sequences) == 1 else f"{s['name']} "
            parts.append(f"{prefix}{len(s['tokens'])} tokens")
        return f"AttentionView({', '.join(parts)})"

    def _fallback_html(self):
        if self._html is None:
            self._html = _fallback_html(self._document, repr(self))
        return self._html


def _last_layer_mean(document, attention):
    """The last stored layer of `attention`, averaged over its heads, sampled to at most 256 × 256 cells."""
    lengths = {s["name"]: len(s["tokens"]) for s in document["sequences"]}
    rows, cols, heads = lengths[attention["queries"]], lengths[attention["keys"]], attention["heads"]
    itemsize = 4 if attention["dtype"] == "float32" else 2
    size = heads * rows * cols * itemsize
    offset = (attention["layers"] - 1) * size
    # Decode only that layer: base64 turns every 3 bytes into 4 characters, so a byte range maps to characters.
    text = attention["data"][offset // 3 * 4:-(-(offset + size) // 3) * 4]
    raw = base64.b64decode(text)[offset % 3:offset % 3 + size]
    if itemsize == 4:
        values = array("f")
        values.frombytes(raw)
        if sys.byteorder == "big":
            values.byteswap()
    else:
        values = struct.unpack(f"<{len(raw) // 2}e", raw)
    pick_rows = [(2 * i + 1) * rows // (2 * min(rows, _PICTURE_CELLS)) for i in range(min(rows, _PICTURE_CELLS))]
    pick_cols = [(2 * j + 1) * cols // (2 * min(cols, _PICTURE_CELLS)) for j in range(min(cols, _PICTURE_CELLS))]
    grid = []
    for r in pick_rows:
        sums = [0.0] * len(pick_cols)
        for h in range(heads):
            start = (h * rows + r) * cols
            row = values[start:start + cols]
            sums = [total + row[c] for total, c in zip(sums, pick_cols)]
        grid.append([total / heads for total in sums])
    return grid


def _fallback_html(document, summary):
    attention = document["attentions"][0]
    grid = _last_layer_mean(document, attention)
    peak = max(max(row) for row in grid) or 1.0
    scale = max(1, min(24, _PICTURE_PIXELS // max(len(grid), len(grid[0]))))
    picture = base64.b64encode(_png.heatmap([[v / peak for v in row] for row in grid], scale)).decode("ascii")
    indices = attention.get("layerIndices")
    layer = indices[-1] if indices else attention["layers"] - 1
    name = "" if attention["name"] == "attention" else f"{attention['name']} attention, "
    what = (f"{name}layer {layer}, mean over {attention['heads']} heads; rows are the queries"
            f" ({attention['queries']}), columns the keys ({attention['keys']}); brighter is more attention")
    sampled = " (sampled)" if max(len(grid), len(grid[0])) == _PICTURE_CELLS else ""
    lines = [
        '<div class="attention-explorer-fallback">',
        f'<img src="data:image/png;base64,{picture}" width="{len(grid[0]) * scale}" height="{len(grid) * scale}"'
        f' alt="{html.escape(what)}">',
        f"<p>{html.escape(summary)}. The picture: {html.escape(what)}{sampled}.</p>",
    ]
    for s in document["sequences"]:
        shown = "".join(f"<code>{html.escape(t)}</code> " for t in s["tokens"][:_HTML_TOKENS])
        more = len(s["tokens"]) - _HTML_TOKENS
        lines.append(f"<p>{html.escape(s['name'])}: {shown}{f'… ({more} more)' if more > 0 else ''}</p>")
    lines.append("<p><em>Interactive in VS Code with the Attention Explorer extension.</em></p>")
    lines.append("</div>")
    return "\n".join(lines)


def check_path(path):
    """`path` as a str; ValueError unless it ends in .attention.json (the only files the editor opens)."""
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not path.endswith(SUFFIX):
        suggestion = re.sub(r"(\.attention)?\.json$", "", path, flags=re.IGNORECASE) + SUFFIX
        raise ValueError(f"the file name must end in {SUFFIX} (VS Code opens only those in Attention Explorer):"
                         f" try {suggestion!r}")
    return path


def write_file(path, text):
    """Writes `text` (UTF-8) to `path` through a temporary file beside it, so a reader never sees half a file."""
    path = check_path(path)
    folder, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
    # os.open with 0o666 lets the umask decide the mode, as for any new file (tempfile would make it 0600).
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(text.encode("utf-8"))
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path
