"""head_view and model_view accept what bertviz's do, in bertviz's order, for self-attention and encoder-decoder."""

import importlib.util
import inspect
import json
import os
import subprocess
import sys
import unittest

import attention_explorer as ae
from tests.format_validator import decode
from tests.support import FormatAssertions, as_float32, flatten, random_attention

# bertviz 1.4.1 (github.com/jessevig/bertviz, commit 0fe6892), bertviz/head_view.py and bertviz/model_view.py.
BERTVIZ_HEAD_VIEW = [
    ("attention", None), ("tokens", None), ("sentence_b_start", None), ("prettify_tokens", True), ("layer", None),
    ("heads", None), ("encoder_attention", None), ("decoder_attention", None), ("cross_attention", None),
    ("encoder_tokens", None), ("decoder_tokens", None), ("include_layers", None), ("html_action", "view"),
]
BERTVIZ_MODEL_VIEW = [
    ("attention", None), ("tokens", None), ("sentence_b_start", None), ("prettify_tokens", True),
    ("display_mode", "dark"), ("encoder_attention", None), ("decoder_attention", None), ("cross_attention", None),
    ("encoder_tokens", None), ("decoder_tokens", None), ("include_layers", None), ("include_heads", None),
    ("html_action", "view"),
]
PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENS = ["<s>", "ĠThe", "Ġcat", "▁sat", "</w>x</w>", "</s>"]


def gpt2(layers=3, heads=2):
    return random_attention(1, layers=layers, heads=heads, rows=6, causal=True)


class Signatures(unittest.TestCase):
    def check(self, function, expected):
        parameters = list(inspect.signature(function).parameters.values())
        positional = [(p.name, p.default) for p in parameters if p.kind == p.POSITIONAL_OR_KEYWORD]
        self.assertEqual(positional, expected)
        extra = [p for p in parameters if p.kind != p.POSITIONAL_OR_KEYWORD]
        self.assertTrue(all(p.kind == p.KEYWORD_ONLY for p in extra), "only keyword-only arguments after bertviz's")

    def test_head_view_has_bertviz_arguments_in_order(self):
        self.check(ae.head_view, BERTVIZ_HEAD_VIEW)

    def test_model_view_has_bertviz_arguments_in_order(self):
        self.check(ae.model_view, BERTVIZ_MODEL_VIEW)


class SelfAttention(FormatAssertions, unittest.TestCase):
    def test_positional_call_as_in_bertviz_readme(self):
        attention = gpt2()
        view = ae.head_view(attention, TOKENS)
        self.assertIsInstance(view, ae.AttentionView)
        self.assertValidDocument(view.document)
        self.assertEqual(view.document["view"], {"tab": "head", "head": 0, "layer": 0})
        self.assertEqual(list(decode(view.document["attentions"][0])),
                         as_float32(flatten(attention)))
        self.assertTrue(view.document["attentions"][0]["causal"])

    def test_prettify_tokens_as_bertviz(self):
        self.assertEqual(ae.head_view(gpt2(), TOKENS).document["sequences"][0]["tokens"],
                         ["<s>", " The", " cat", " sat", "x", "</s>"])
        self.assertEqual(ae.head_view(gpt2(), TOKENS, None, False).document["sequences"][0]["tokens"], TOKENS)

    def test_sentence_b_start_positionally(self):
        view = ae.model_view(random_attention(2, 2, 2, 6), TOKENS, 3)
        self.assertEqual(view.document["sequences"][0]["sentenceBStart"], 3)
        self.assertEqual(view.document["view"], {"tab": "model"})

    def test_head_view_layer_and_heads_choose_the_first_view(self):
        view = ae.head_view(gpt2(layers=4), TOKENS, None, True, 2, [1, 0])
        self.assertEqual(view.document["view"], {"tab": "head", "layer": 2, "head": 1})

    def test_head_view_layer_counts_in_include_layers(self):
        view = ae.head_view(gpt2(layers=4), TOKENS, layer=3, include_layers=[1, 3])
        self.assertEqual(view.document["view"]["layer"], 1)
        self.assertEqual(view.document["attentions"][0]["layerIndices"], [1, 3])
        with self.assertRaises(ValueError) as caught:
            ae.head_view(gpt2(layers=4), TOKENS, layer=2, include_layers=[1, 3])
        self.assertEqual(str(caught.exception), "Layer 2 is not in include_layers: [1, 3]")

    def test_model_view_include_heads_keeps_those_heads_in_order(self):
        attention = gpt2(heads=4)
        view = ae.model_view(attention, TOKENS, include_layers=[0, 2], include_heads=[3, 1], display_mode="light")
        entry = view.document["attentions"][0]
        self.assertEqual((entry["layers"], entry["heads"], entry["layerIndices"]), (2, 2, [0, 2]))
        kept = [[attention[layer][0][head] for head in (3, 1)] for layer in (0, 2)]
        self.assertEqual(list(decode(entry)), as_float32(flatten(kept)))

    def test_errors_as_bertviz(self):
        cases = [
            (lambda: ae.head_view(gpt2()), "'tokens' is required"),
            (lambda: ae.head_view(gpt2(), TOKENS, encoder_tokens=TOKENS), "may not specify any encoder-decoder"),
            (lambda: ae.model_view(), "You must specify at least one attention argument."),
            (lambda: ae.head_view(encoder_attention=gpt2()), "'encoder_tokens' required if 'encoder_attention'"),
            (lambda: ae.head_view(decoder_attention=gpt2()), "'decoder_tokens' required if 'decoder_attention'"),
            (lambda: ae.model_view(cross_attention=gpt2(), decoder_tokens=TOKENS),
             "'encoder_tokens' required if 'cross_attention'"),
            (lambda: ae.model_view(cross_attention=gpt2(), encoder_tokens=TOKENS),
             "'decoder_tokens' required if 'cross_attention'"),
            (lambda: ae.head_view(gpt2(), TOKENS, html_action="show"), "'html_action' parameter must be"),
        ]
        for call, message in cases:
            with self.subTest(message):
                with self.assertRaises(ValueError) as caught:
                    call()
                self.assertIn(message, str(caught.exception))


class EncoderDecoder(FormatAssertions, unittest.TestCase):
    def setUp(self):
        self.encoder_tokens = ["▁The", "▁house", "▁is", "</s>"]
        self.decoder_tokens = ["<pad>", "▁Das", "▁Haus"]
        self.encoder = random_attention(1, layers=2, heads=2, rows=4)
        self.decoder = random_attention(2, layers=2, heads=2, rows=3, causal=True)
        self.cross = random_attention(3, layers=2, heads=2, rows=3, cols=4)

    def test_all_three(self):
        view = ae.model_view(encoder_attention=self.encoder, decoder_attention=self.decoder,
                             cross_attention=self.cross, encoder_tokens=self.encoder_tokens,
                             decoder_tokens=self.decoder_tokens, html_action="return")
        document = view.document
        self.assertValidDocument(document)
        self.assertEqual([(s["name"], s["tokens"]) for s in document["sequences"]],
                         [("encoder", [" The", " house", " is", "</s>"]), ("decoder", ["<pad>", " Das", " Haus"])])
        self.assertEqual([(a["name"], a["queries"], a["keys"], a["causal"]) for a in document["attentions"]],
                         [("encoder", "encoder", "encoder", False), ("decoder", "decoder", "decoder", True),
                          ("cross", "decoder", "encoder", False)])
        for entry, source in zip(document["attentions"], (self.encoder, self.decoder, self.cross)):
            self.assertEqual(list(decode(entry)), as_float32(flatten(source)))

    def test_any_subset(self):
        subsets = [
            ({"encoder_attention": self.encoder, "encoder_tokens": self.encoder_tokens}, ["encoder"], ["encoder"]),
            ({"decoder_attention": self.decoder, "decoder_tokens": self.decoder_tokens, "encoder_tokens": ["x"]},
             ["decoder"], ["decoder"]),
            ({"cross_attention": self.cross, "encoder_tokens": self.encoder_tokens,
              "decoder_tokens": self.decoder_tokens}, ["encoder", "decoder"], ["cross"]),
        ]
        for arguments, sequences, attentions in subsets:
            with self.subTest(attentions):
                view = ae.head_view(**arguments, html_action="return")
                self.assertValidDocument(view.document)
                self.assertEqual([s["name"] for s in view.document["sequences"]], sequences)
                self.assertEqual([a["name"] for a in view.document["attentions"]], attentions)

    def test_cross_attention_shape_is_checked_against_both_sequences(self):
        with self.assertRaises(ValueError) as caught:
            ae.model_view(cross_attention=self.cross, encoder_tokens=self.encoder_tokens[:3],
                          decoder_tokens=self.decoder_tokens)
        self.assertIn("cross attention is 3 × 4 (queries × keys), but the tokens make it 3 × 3",
                      str(caught.exception))


_DISPLAY_SCRIPT = """
import json
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
import attention_explorer as ae
shell = InteractiveShell.instance()
shell.user_ns.update(ae=ae, tokens=["a", "b"], attention=[[[[0.5, 0.5], [0.5, 0.5]]]])
cells = ["ae.head_view(attention, tokens)",
         "view = ae.model_view(attention, tokens, html_action='return')", "view",
         "kept = ae.head_view(attention, tokens)", "kept"]
results = []
for source in cells:
    with capture_output() as captured:
        outcome = shell.run_cell(source, store_history=True)
    results.append({"error": repr(outcome.error_in_exec) if outcome.error_in_exec else None,
                    "outputs": [sorted(o.data) for o in captured.outputs], "stdout": captured.stdout})
print(json.dumps(results))
"""


class Display(unittest.TestCase):
    """In a running IPython, html_action='view' displays at once, and the cell's echo of the result is skipped."""

    @classmethod
    def setUpClass(cls):
        # In a child process: an InteractiveShell, once made, stays the process's shell and would display the views
        # of every later test.
        if importlib.util.find_spec("IPython") is None:
            raise unittest.SkipTest("IPython is not installed")
        result = subprocess.run([sys.executable, "-c", _DISPLAY_SCRIPT], capture_output=True, text=True,
                                cwd=PYTHON_DIR, timeout=120)
        if result.returncode != 0:
            raise AssertionError(result.stderr)
        cls.cells = json.loads(result.stdout.strip().splitlines()[-1])

    def assertShown(self, cell, times):
        self.assertIsNone(cell["error"])
        self.assertEqual(cell["outputs"], [sorted([ae.MIME_TYPE, "text/html", "text/plain"])] * times)
        self.assertNotIn("AttentionView(", cell["stdout"])  # no text echo beside the rich output

    def test_shown_once_as_the_last_expression(self):
        self.assertShown(self.cells[0], 1)

    def test_return_does_not_display_until_asked(self):
        self.assertShown(self.cells[1], 0)
        self.assertShown(self.cells[2], 1)

    def test_a_kept_view_shows_again_in_a_later_cell(self):
        self.assertShown(self.cells[3], 1)
        self.assertShown(self.cells[4], 1)


if __name__ == "__main__":
    unittest.main()
