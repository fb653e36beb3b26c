"""The notebook output: the MIME bundle, the document it carries, and the self-contained HTML fallback."""

import base64
import copy
import html.parser
import json
import re
import struct
import unittest
import zlib

import attention_explorer as ae
from tests.format_validator import problems
from tests.support import FormatAssertions, as_float16, as_float32, random_attention

MIME = "application/vnd.attention-explorer.attention+json"
TOKENS = ["[CLS]", "the", "<script>", "&amp;", "[SEP]"]


def bert_view(**options):
    return ae.show(random_attention(1, layers=2, heads=3, rows=5), TOKENS, model="bert-base-uncased", **options)


def parse_png(data):
    """(width, height, rows of RGB tuples) of an 8-bit RGB PNG, checking its signature and every chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature"
    position, chunks = 8, []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind, body = data[position + 4:position + 8], data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, f"CRC of {kind!r}"
        chunks.append((kind, body))
        position += 12 + length
    assert [k for k, _ in chunks][0] == b"IHDR" and chunks[-1][0] == b"IEND", [k for k, _ in chunks]
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour, compression, filtering, interlace) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = 1 + 3 * width
    assert len(raw) == stride * height, "IDAT size"
    rows = []
    for y in range(height):
        line = raw[y * stride:(y + 1) * stride]
        assert line[0] == 0, "filter type 0"
        rows.append([tuple(line[1 + 3 * x:4 + 3 * x]) for x in range(width)])
    return width, height, rows


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


class Bundle(FormatAssertions, unittest.TestCase):
    def test_three_representations(self):
        bundle = bert_view()._repr_mimebundle_()
        self.assertEqual(set(bundle), {MIME, "text/html", "text/plain"})
        self.assertIsInstance(bundle[MIME], dict)  # the JSON object itself: nbformat stores +json data as objects
        self.assertIsInstance(bundle["text/html"], str)
        self.assertEqual(bundle["text/plain"],
                         "AttentionView(model='bert-base-uncased', 2 layers × 3 heads, 5 tokens)")
        self.assertEqual(ae.MIME_TYPE, MIME)

    def test_the_document_is_valid_and_json_serialisable(self):
        view = bert_view(sentence_b_start=2, special=[True, False, False, False, True], text="the <script> &amp;",
                         offsets=[(0, 0), (0, 3), (4, 12), (13, 18), (0, 0)], view={"tab": "head", "layer": 1})
        document = view._repr_mimebundle_()[MIME]
        self.assertValidDocument(document)
        self.assertEqual(json.loads(view.to_json()), document)
        self.assertEqual(document, view.document)
        sequence = document["sequences"][0]
        self.assertEqual((sequence["name"], sequence["sentenceBStart"], sequence["special"][0]), ("tokens", 2, True))
        self.assertEqual(document["view"], {"tab": "head", "layer": 1})
        self.assertEqual((document["format"], document["version"], document["model"]),
                         ("attention-explorer.attention", 1, "bert-base-uncased"))

    def test_offsets_become_utf16_code_units(self):
        text = "😀 cat"
        view = ae.show(random_attention(2, layers=1, heads=1, rows=2), ["😀", "cat"], text=text,
                       offsets=[(0, 1), (2, 5)])
        self.assertValidDocument(view.document)
        self.assertEqual(view.document["sequences"][0]["offsets"], [[0, 2], [3, 6]])

    def test_include_and_exclude(self):
        view = bert_view()
        self.assertEqual(set(view._repr_mimebundle_(include=[MIME])), {MIME})
        self.assertEqual(set(view._repr_mimebundle_(exclude=["text/html"])), {MIME, "text/plain"})

    def test_the_validator_catches_broken_documents(self):
        # The validator must be able to fail, or the tests above prove nothing.
        document = bert_view().document
        breakages = {
            "version": lambda d: d.update(version=2),
            "dtype": lambda d: d["attentions"][0].update(dtype="float64"),
            "short data": lambda d: d["attentions"][0].update(data=d["attentions"][0]["data"][:-8]),
            "line breaks": lambda d: d["attentions"][0].update(data=d["attentions"][0]["data"][:8] + "\n"
                                                                  + d["attentions"][0]["data"][8:]),
            "unknown keys": lambda d: d["attentions"][0].update(keys="decoder"),
            "layer indices": lambda d: d["attentions"][0].update(layerIndices=[0]),
            "negative weight": lambda d: d["attentions"][0].update(
                data=base64.b64encode(struct.pack("<f", -1.0) + base64.b64decode(d["attentions"][0]["data"])[4:])
                .decode()),
            "long token": lambda d: d["sequences"][0]["tokens"].__setitem__(0, "x" * 257),
            "view layer": lambda d: d.update(view={"layer": 2}),
        }
        self.assertEqual(problems(document), [])
        for name, breakage in breakages.items():
            with self.subTest(name):
                broken = copy.deepcopy(document)
                breakage(broken)
                self.assertNotEqual(problems(broken), [])

    def test_text_plain_for_encoder_decoder(self):
        view = ae.model_view(encoder_attention=random_attention(1, 2, 2, 3),
                             cross_attention=random_attention(2, 2, 2, 4, 3), encoder_tokens=["a", "b", "c"],
                             decoder_tokens=["w", "x", "y", "z"], html_action="return")
        self.assertEqual(repr(view), "AttentionView(model=None, encoder 2 layers × 2 heads, cross 2 layers × 2 heads,"
                                     " encoder 3 tokens, decoder 4 tokens)")


class HtmlFallback(unittest.TestCase):
    def setUp(self):
        self.attention = random_attention(3, layers=2, heads=3, rows=5)
        self.html = ae.show(self.attention, TOKENS, model="bert <b>")._repr_mimebundle_()["text/html"]
        parser = _Tags()
        parser.feed(self.html)
        self.tags, self.text = parser.tags, "".join(parser.text)

    def picture(self):
        images = [attrs for tag, attrs in self.tags if tag == "img"]
        self.assertEqual(len(images), 1)
        src = images[0]["src"]
        self.assertTrue(src.startswith("data:image/png;base64,"))
        return images[0], base64.b64decode(src[len("data:image/png;base64,"):], validate=True)

    def test_self_contained_no_scripts_no_remote_resources(self):
        self.assertNotIn("script", [tag for tag, _ in self.tags])
        for _, attrs in self.tags:
            for name, value in attrs.items():
                self.assertFalse(name.startswith("on"), name)
                if name in ("src", "href"):
                    self.assertTrue(value.startswith("data:"), value)

    def test_tokens_and_model_are_escaped(self):
        self.assertIn("&lt;script&gt;", self.html)
        self.assertIn("&amp;amp;", self.html)
        self.assertNotIn("<script>", self.html)
        self.assertNotIn("<b>", self.html)
        for token in TOKENS:
            self.assertIn(token, self.text)

    def test_caption(self):
        self.assertIn("2 layers × 3 heads", self.text)
        self.assertIn("5 tokens", self.text)
        self.assertIn("bert <b>", self.text)
        self.assertIn("Interactive in VS Code with the Attention Explorer extension", self.text)

    def test_the_png_is_valid_and_shows_the_last_layer_mean(self):
        attrs, data = self.picture()
        width, height, rows = parse_png(data)
        self.assertEqual((width, height), (int(attrs["width"]), int(attrs["height"])))
        self.assertEqual(width % 5, 0)
        self.assertEqual(width, height)
        cell = width // 5
        mean = [[sum(self.attention[1][0][h][i][j] for h in range(3)) / 3 for j in range(5)] for i in range(5)]
        peak = max(max(r) for r in mean)
        brightest = max(((i, j) for i in range(5) for j in range(5)), key=lambda p: mean[p[0]][p[1]])
        darkest = min(((i, j) for i in range(5) for j in range(5)), key=lambda p: mean[p[0]][p[1]])
        self.assertEqual(rows[brightest[0] * cell][brightest[1] * cell], (253, 231, 37))  # viridis at 1
        self.assertLess(sum(rows[darkest[0] * cell][darkest[1] * cell]), sum((253, 231, 37)))
        self.assertGreater(peak, 0)

    def test_the_picture_decodes_only_the_last_layer_wherever_it_starts_in_the_base64(self):
        from attention_explorer._view import _last_layer_mean
        # float16 layers of 1 head × 5 × 5 are 50 bytes: the last one starts mid-way through a base64 group.
        for precision, layers, heads in (("float16", 2, 1), ("float16", 3, 1), ("float32", 2, 2)):
            with self.subTest(precision=precision, layers=layers):
                attention = random_attention(4, layers=layers, heads=heads, rows=5)
                view = ae.show(attention, TOKENS, precision=precision)
                rounding = as_float16 if precision == "float16" else as_float32
                last = [[rounding(row) for row in head] for head in attention[-1][0]]
                expected = [[sum(last[h][i][j] for h in range(heads)) / heads for j in range(5)] for i in range(5)]
                self.assertEqual(_last_layer_mean(view.document, view.document["attentions"][0]), expected)

    def test_long_sequences_are_sampled_to_a_small_picture(self):
        view = ae.show([[[[1 / 300] * 300] * 300]], ["t"] * 300, precision="float16")
        match = re.search(r'src="data:image/png;base64,([^"]+)"', view._repr_mimebundle_()["text/html"])
        width, height, _ = parse_png(base64.b64decode(match.group(1)))
        self.assertEqual((width, height), (256, 256))


if __name__ == "__main__":
    unittest.main()
