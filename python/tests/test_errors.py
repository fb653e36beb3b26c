"""Wrong input is refused with a message that says what was expected and what was found; limits hold."""

import math
import unittest
from unittest import mock

import attention_explorer as ae
from attention_explorer import _document, _limits
from tests.support import needs_numpy, numpy, random_attention

TOKENS = ["[CLS]", "a", "b", "[SEP]"]


def good(**shape):
    return random_attention(1, **{"layers": 2, "heads": 2, "rows": 4, **shape})


class ShapeOnly:
    """An array that has only a shape: converting it would fail, so a refusal must come from the shape alone."""

    def __init__(self, *shape):
        self.shape = shape

    def detach(self):
        raise AssertionError("converted before the shape was checked")


class Errors(unittest.TestCase):
    def assertRefused(self, error, call, *fragments):
        with self.assertRaises(error) as caught:
            call()
        message = str(caught.exception)
        for fragment in fragments:
            self.assertIn(fragment, message)
        return message

    def test_layers_of_different_shapes(self):
        attention = good()
        attention[1] = random_attention(2, layers=1, heads=3, rows=4)[0]
        self.assertRefused(ValueError, lambda: ae.show(attention, TOKENS), "layer 1 has shape (1, 3, 4, 4)",
                           "layer 0 has (1, 2, 4, 4)")

    def test_tokens_not_matching_the_sequence_length(self):
        self.assertRefused(ValueError, lambda: ae.show(good(), TOKENS[:3]), "4 × 4", "3 × 3", "len(tokens)")

    def test_not_square(self):
        self.assertRefused(ValueError, lambda: ae.show(good(cols=3), TOKENS), "not square", "4 queries × 3 keys")

    def test_batch_index_out_of_range(self):
        self.assertRefused(ValueError, lambda: ae.show(good(batch=2), TOKENS, batch_index=2),
                           "batch_index 2 is out of range", "batch of 2")
        self.assertRefused(ValueError, lambda: ae.show(good(), TOKENS, batch_index=-1), "batch_index -1")
        unbatched = [layer[0] for layer in good()]
        self.assertRefused(ValueError, lambda: ae.show(unbatched, TOKENS, batch_index=1), "no batch axis")
        self.assertRefused(TypeError, lambda: ae.show(good(), TOKENS, batch_index=1.0), "batch_index")

    def test_wrong_number_of_dimensions(self):
        self.assertRefused(ValueError, lambda: ae.show([[[1.0]]], ["a"]), "output_attentions=True")
        self.assertRefused(ValueError, lambda: ae.show(ShapeOnly(4, 4), TOKENS), "shape (4, 4)")

    def test_bad_weights_name_the_layer_and_head(self):
        for value, problem in ((math.nan, "is NaN"), (math.inf, "is infinite"), (-0.25, "is negative (-0.25)")):
            with self.subTest(value=value):
                attention = good()
                attention[1][0][1][2][3] = value
                self.assertRefused(ValueError, lambda: ae.show(attention, TOKENS), "layer 1, head 1, row 2, column 3",
                                   problem)

    def test_bad_weights_name_the_model_layer_when_some_are_kept(self):
        attention = good(layers=3)
        attention[2][0][0][0][0] = math.nan
        self.assertRefused(ValueError, lambda: ae.show(attention, TOKENS, include_layers=[0, 2]), "layer 2, head 0")

    def test_too_large_for_float16(self):
        attention = good()
        attention[0][0][0][0][0] = 70000.0
        self.assertRefused(ValueError, lambda: ae.show(attention, TOKENS, precision="float16"),
                           "larger than float16", "precision='float32'")

    def test_weights_that_are_not_numbers(self):
        attention = good()
        attention[0][0][0][0][0] = "0.5"
        self.assertRefused(TypeError, lambda: ae.show(attention, TOKENS), "weights must be numbers", "str")

    def test_ragged_lists(self):
        attention = good()
        attention[1][0][1][2] = [0.5, 0.5]
        self.assertRefused(ValueError, lambda: ae.show(attention, TOKENS), "layer 1, head 1, row 2 has 2 weights",
                           "expected 4")

    def test_unknown_precision(self):
        self.assertRefused(ValueError, lambda: ae.show(good(), TOKENS, precision="float64"),
                           "'float32' or 'float16'", "'float64'")

    def test_tokens(self):
        self.assertRefused(TypeError, lambda: ae.show(good(), "abcd"), "list of token strings", "str")
        self.assertRefused(TypeError, lambda: ae.show(good(), [101, 1, 2, 102]), "tokens[0] is int 101", "not the ids")
        self.assertRefused(ValueError, lambda: ae.show(good(), []), "tokens is empty")

    def test_long_tokens_are_cut_with_an_ellipsis(self):
        view = ae.show(good(), ["a" * 300, "b", "😀" * 200, "c" * 256], model="m" * 400)
        tokens = view.document["sequences"][0]["tokens"]
        self.assertEqual(tokens[0], "a" * 255 + "…")
        self.assertEqual(tokens[2], "😀" * 127 + "…")  # 254 + 1 UTF-16 code units: within 256
        self.assertEqual(tokens[3], "c" * 256)
        self.assertEqual(view.document["model"], "m" * 255 + "…")

    def test_include_layers(self):
        self.assertRefused(ValueError, lambda: ae.show(good(), TOKENS, include_layers=[2]), "layer 2",
                           "2 layers (0 … 1)")
        self.assertRefused(ValueError, lambda: ae.show(good(), TOKENS, include_layers=[1, 1]), "layer 1 twice")
        self.assertRefused(ValueError, lambda: ae.show(good(), TOKENS, include_layers=[]), "include_layers is empty")
        self.assertRefused(TypeError, lambda: ae.show(good(), TOKENS, include_layers=[0.0]),
                           "include_layers[0] must be an integer, got float 0.0")

    def test_wrong_attention_types(self):
        self.assertRefused(TypeError, lambda: ae.show(None, TOKENS), "outputs.attentions", "NoneType")
        self.assertRefused(TypeError, lambda: ae.show({"a": 1}, TOKENS), "dict")
        self.assertRefused(ValueError, lambda: ae.show([], TOKENS), "attention is empty")

    def test_options(self):
        self.assertRefused(ValueError, lambda: ae.show(good(), TOKENS, sentence_b_start=4), "sentence_b_start is 4",
                           "1 … 3")
        self.assertRefused(ValueError, lambda: ae.show(good(), TOKENS, special=[True]), "special has 1 entries")
        self.assertRefused(ValueError, lambda: ae.show(good(), TOKENS, offsets=[(0, 0)] * 4), "offsets need text")
        self.assertRefused(ValueError, lambda: ae.show(good(), TOKENS, text="a b", offsets=[(0, 0), (0, 1), (2, 9),
                                                                                             (0, 0)]),
                           "offsets[2] is (2, 9)", "≤ 3")
        self.assertRefused(ValueError, lambda: ae.show(good(), TOKENS, view={"tab": "grid"}), "view['tab']", "'model'")
        self.assertRefused(ValueError, lambda: ae.show(good(), TOKENS, view={"layer": 2}), "view['layer'] is 2",
                           "2 layers")
        self.assertRefused(ValueError, lambda: ae.show(good(), TOKENS, view={"heads": 1}), "unknown keys")
        self.assertRefused(TypeError, lambda: ae.show(good(), TOKENS, model=3), "model must be a str")


class Limits(unittest.TestCase):
    def test_the_limits_the_format_states(self):
        self.assertEqual(_limits.MAX_ATTENTION_BYTES, 64 * 1024 * 1024)
        self.assertEqual((_limits.MAX_TOKENS, _limits.MAX_LAYERS, _limits.MAX_HEADS, _limits.MAX_TOKEN_LENGTH),
                         (100_000, 256, 256, 256))

    def test_just_over_64_mib_is_refused_before_any_conversion_saying_what_fits(self):
        # 12 × 12 × 342 × 342 float32 weights are 64.25 MiB; the format's own example says 341 tokens fit.
        attention = tuple(ShapeOnly(1, 12, 342, 342) for _ in range(12))
        with self.assertRaises(ValueError) as caught:
            ae.show(attention, ["t"] * 342)
        message = str(caught.exception)
        for fragment in ("64.3 MiB as float32", "limit of 64 MiB", "precision='float16' (32.1 MiB)",
                         "include_layers with at most 11 layers", "at most 341 tokens"):
            self.assertIn(fragment, message)

    def test_float16_limit_names_the_tokens_that_fit(self):
        attention = tuple(ShapeOnly(1, 12, 483, 483) for _ in range(12))
        with self.assertRaises(ValueError) as caught:
            ae.show(attention, ["t"] * 483, precision="float16")
        self.assertIn("at most 482 tokens", str(caught.exception))
        self.assertNotIn("precision='float16' (", str(caught.exception))

    def test_when_float16_is_not_enough_alone_the_tokens_for_it_are_named(self):
        attention = tuple(ShapeOnly(1, 12, 500, 500) for _ in range(12))
        with self.assertRaises(ValueError) as caught:
            ae.show(attention, ["t"] * 500)
        self.assertIn("not enough alone", str(caught.exception))
        self.assertIn("at most 341 tokens (482 with precision='float16')", str(caught.exception))

    def test_the_largest_that_fits_is_accepted(self):
        # 1 layer × 1 head × 4096 × 4096 float32 is exactly 64 MiB: allowed (a zero-stride array allocates nothing
        # big until it is packed; 64 MiB once is fine for a test).
        if numpy is None:
            self.skipTest("NumPy is not installed")
        weight = numpy.broadcast_to(numpy.float32(1 / 4096), (1, 1, 4096, 4096))
        view = ae.show([weight], ["t"] * 4096)
        self.assertEqual(len(view.document["attentions"][0]["data"]), 4 * math.ceil(64 * 1024 * 1024 / 3))

    def test_too_many_tokens_layers_heads(self):
        with self.assertRaises(ValueError) as caught:
            ae.show(tuple(ShapeOnly(1, 1, 100_001, 100_001) for _ in range(1)), ["t"] * 100_001)
        self.assertIn("at most 100000", str(caught.exception))
        with self.assertRaises(ValueError) as caught:
            ae.show(tuple(ShapeOnly(1, 1, 2, 2) for _ in range(257)), ["a", "b"])
        self.assertIn("257 layers", str(caught.exception))
        with self.assertRaises(ValueError) as caught:
            ae.show(tuple(ShapeOnly(1, 257, 2, 2) for _ in range(1)), ["a", "b"])
        self.assertIn("257 heads", str(caught.exception))

    def test_the_json_text_limit(self):
        # 100 MiB of text is slow to build in a unit test: the same check under a smaller limit.
        with mock.patch.object(_document, "MAX_DOCUMENT_BYTES", 2000):
            ae.show(good(), TOKENS, text="x" * 10)
            with self.assertRaises(ValueError) as caught:
                ae.show(good(), TOKENS, text="x" * 2000)
        self.assertIn("MiB of JSON, above the limit", str(caught.exception))

    @needs_numpy
    def test_encoder_decoder_sizes_add_up(self):
        big = numpy.broadcast_to(numpy.float32(0.01), (1, 12, 300, 300))
        cross = numpy.broadcast_to(numpy.float32(0.01), (1, 12, 300, 300))
        with self.assertRaises(ValueError) as caught:
            ae.model_view(encoder_attention=[big] * 12, decoder_attention=[big] * 12, cross_attention=[cross] * 12,
                          encoder_tokens=["e"] * 300, decoder_tokens=["d"] * 300, html_action="return")
        self.assertIn("tokens per sequence", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
