"""The weights written are the weights given: every input kind, both precisions, the byte order."""

import base64
import json
import os
import subprocess
import sys
import unittest

import attention_explorer as ae
from tests.format_validator import decode
from tests.support import (FakeTensor, FormatAssertions, as_float16, as_float32, flatten, needs_numpy, numpy,
                           random_attention)

TOKENS = ["[CLS]", "the", "cat", "sat", "[SEP]"]
PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def weights(view, index=0):
    return list(decode(view.document["attentions"][index]))


class NestedLists(FormatAssertions, unittest.TestCase):
    def test_float32_round_trip_is_exact(self):
        attention = random_attention(1, layers=2, heads=3, rows=5)
        view = ae.show(attention, TOKENS)
        self.assertValidDocument(view.document)
        a = view.document["attentions"][0]
        self.assertEqual((a["layers"], a["heads"], a["dtype"], a["queries"], a["keys"]), (2, 3, "float32",
                                                                                          "tokens", "tokens"))
        self.assertEqual(weights(view), as_float32(flatten(attention)))

    def test_float16_round_trip_is_within_its_rounding(self):
        attention = random_attention(2, layers=2, heads=2, rows=5)
        view = ae.show(attention, TOKENS, precision="float16")
        self.assertValidDocument(view.document)
        self.assertEqual(view.document["attentions"][0]["dtype"], "float16")
        self.assertEqual(len(base64.b64decode(view.document["attentions"][0]["data"])), 2 * 2 * 5 * 5 * 2)
        self.assertEqual(weights(view), as_float16(flatten(attention)))

    def test_layers_heads_rows_cols_in_row_major_order(self):
        # Weight (l, h, i, j) = a distinct exact value: the position in the flat data proves the order.
        attention = [[[[[(l * 1000 + h * 100 + i * 10 + j) / 4096 for j in range(5)] for i in range(5)]
                        for h in range(2)]] for l in range(3)]
        values = weights(ae.show(attention, TOKENS))
        for l in range(3):
            for h in range(2):
                for i in range(5):
                    for j in range(5):
                        self.assertEqual(values[((l * 2 + h) * 5 + i) * 5 + j],
                                         (l * 1000 + h * 100 + i * 10 + j) / 4096)

    def test_without_a_batch_axis(self):
        attention = random_attention(3, layers=2, heads=2, rows=5)
        unbatched = [layer[0] for layer in attention]  # [layers, heads, n, n]
        self.assertEqual(weights(ae.show(unbatched, TOKENS)), weights(ae.show(attention, TOKENS)))

    def test_batch_index_picks_the_row(self):
        attention = random_attention(4, layers=2, heads=2, rows=5, batch=3)
        view = ae.show(attention, TOKENS, batch_index=2)
        self.assertEqual(weights(view), as_float32(flatten([layer[2] for layer in attention])))

    def test_include_layers_keeps_those_layers_in_order_as_layer_indices(self):
        attention = random_attention(5, layers=4, heads=2, rows=5)
        view = ae.show(attention, TOKENS, include_layers=[3, 1])
        a = view.document["attentions"][0]
        self.assertEqual((a["layers"], a["layerIndices"]), (2, [3, 1]))
        self.assertEqual(weights(view), as_float32(flatten([attention[3], attention[1]])))
        self.assertIsNone(ae.show(attention, TOKENS).document["attentions"][0]["layerIndices"])

    def test_byte_order_is_little_endian_on_any_host(self):
        ones = [[[[1.0] * 2] * 2]]  # 1 layer, 1 head, 2 × 2 (no batch axis)
        f32 = base64.b64decode(ae.show(ones, ["a", "b"]).document["attentions"][0]["data"])
        self.assertEqual(f32, b"\x00\x00\x80?" * 4)
        f16 = base64.b64decode(ae.show(ones, ["a", "b"], precision="float16").document["attentions"][0]["data"])
        self.assertEqual(f16, b"\x00<" * 4)

    def test_causal_only_when_every_weight_above_the_diagonal_is_zero(self):
        causal = random_attention(6, layers=2, heads=2, rows=5, causal=True)
        self.assertTrue(ae.show(causal, TOKENS).document["attentions"][0]["causal"])
        causal[1][0][1][2][4] = 1e-9  # one weight above the diagonal, in the last layer
        self.assertFalse(ae.show(causal, TOKENS).document["attentions"][0]["causal"])
        self.assertFalse(ae.show([[[[1.0]]]], ["a"]).document["attentions"][0]["causal"])

    def test_integers_are_weights_too(self):
        self.assertEqual(weights(ae.show([[[[0, 1], [1, 0]]]], ["a", "b"])), [0.0, 1.0, 1.0, 0.0])

    def test_numpy_is_never_imported_by_the_package(self):
        script = ("import sys, attention_explorer as ae\n"
                  "view = ae.show([[[[1.0]]]], ['a'])\n"
                  "view._repr_mimebundle_(); ae.head_view([[[[1.0]]]], ['a'])\n"
                  "print(sorted(m for m in ('numpy', 'torch', 'IPython') if m in sys.modules))\n")
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PYTHON_DIR,
                                timeout=60)
        self.assertEqual((result.returncode, result.stdout.strip()), (0, "[]"), result.stderr)

    def test_works_without_numpy(self):
        # A fresh interpreter where `import numpy` fails: the package must import and write the same bytes.
        attention = random_attention(7, layers=2, heads=2, rows=5, causal=True)
        script = ("import sys, json; sys.modules['numpy'] = None\n"
                  "import attention_explorer as ae\n"
                  "a, t = json.loads(sys.stdin.read())\n"
                  "print(json.dumps(ae.show(a, t, precision='float16').document))\n")
        result = subprocess.run([sys.executable, "-c", script], input=json.dumps([attention, TOKENS]),
                                capture_output=True, text=True, cwd=PYTHON_DIR, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout), ae.show(attention, TOKENS, precision="float16").document)


@needs_numpy
class NumPyAndTensors(FormatAssertions, unittest.TestCase):
    def setUp(self):
        self.nested = random_attention(8, layers=3, heads=2, rows=5, batch=2)
        self.array = numpy.array(self.nested)  # [layers, batch, heads, n, n], float64

    def test_tuple_of_numpy_layers_like_outputs_attentions(self):
        view = ae.show(tuple(self.array), TOKENS, batch_index=1)
        self.assertValidDocument(view.document)
        self.assertEqual(weights(view), as_float32(self.array[:, 1].ravel().tolist()))

    def test_numpy_and_nested_lists_write_the_same_bytes(self):
        for precision in ("float32", "float16"):
            with self.subTest(precision=precision):
                from_numpy = ae.show(list(self.array), TOKENS, precision=precision, batch_index=1).document
                from_lists = ae.show(self.nested, TOKENS, precision=precision, batch_index=1).document
                self.assertEqual(from_numpy, from_lists)

    def test_float16_matches_struct_rounding(self):
        view = ae.show(list(self.array), TOKENS, precision="float16")
        self.assertEqual(weights(view), as_float16(self.array[:, 0].ravel().tolist()))

    def test_one_five_dimensional_array(self):
        self.assertEqual(weights(ae.show(self.array, TOKENS, batch_index=1)),
                         as_float32(self.array[:, 1].ravel().tolist()))

    def test_one_four_dimensional_array_without_batch(self):
        layers_heads = self.array[:, 0]
        self.assertEqual(weights(ae.show(layers_heads, TOKENS)), as_float32(layers_heads.ravel().tolist()))

    def test_float16_and_float32_input_arrays(self):
        for dtype in ("<f2", ">f4", "<f4"):
            with self.subTest(dtype=dtype):
                source = self.array.astype(dtype)
                self.assertEqual(weights(ae.show(list(source), TOKENS)),
                                 as_float32(source[:, 0].astype(float).ravel().tolist()))

    def test_non_contiguous_arrays(self):
        transposed = numpy.ascontiguousarray(self.array.transpose(0, 1, 2, 4, 3)).transpose(0, 1, 2, 4, 3)
        self.assertFalse(transposed.flags["C_CONTIGUOUS"])
        self.assertEqual(weights(ae.show(transposed, TOKENS)), weights(ae.show(self.array, TOKENS)))

    def test_torch_like_objects_are_detached_moved_to_cpu_and_converted(self):
        tensors = tuple(FakeTensor(layer) for layer in self.array)
        view = ae.show(tensors, TOKENS, batch_index=1)
        self.assertEqual(weights(view), as_float32(self.array[:, 1].ravel().tolist()))
        self.assertEqual(tensors[0].calls, ["detach", "cpu", "numpy"])

    def test_only_the_chosen_batch_row_is_converted_when_the_tensor_can_be_indexed(self):
        converted = []

        class Recording(FakeTensor):
            def __getitem__(self, index):
                return Recording(self._array[index])

            def numpy(self):
                converted.append(self._array.shape)
                return self._array

        view = ae.show([Recording(layer) for layer in self.array], TOKENS, batch_index=1)
        self.assertEqual(weights(view), as_float32(self.array[:, 1].ravel().tolist()))
        self.assertEqual(converted, [(2, 5, 5)] * 3)  # [heads, n, n] of each layer, not the whole batch

    def test_bfloat16_like_tensors_are_widened(self):
        class BFloat16(FakeTensor):
            def numpy(self):
                raise TypeError("Got unsupported ScalarType BFloat16")

            def float(self):
                return FakeTensor(self._array)

        view = ae.show([BFloat16(layer) for layer in self.array], TOKENS)
        self.assertEqual(weights(view), as_float32(self.array[:, 0].ravel().tolist()))

    def test_include_layers_with_numpy(self):
        view = ae.show(list(self.array), TOKENS, include_layers=numpy.array([2, 0]))
        self.assertEqual(view.document["attentions"][0]["layerIndices"], [2, 0])
        self.assertEqual(weights(view), as_float32(self.array[[2, 0], 0].ravel().tolist()))

    def test_causal_detection_with_numpy(self):
        causal = numpy.array(random_attention(9, layers=2, heads=2, rows=5, causal=True))
        self.assertTrue(ae.show(causal, TOKENS).document["attentions"][0]["causal"])
        self.assertFalse(ae.show(self.array, TOKENS).document["attentions"][0]["causal"])


if __name__ == "__main__":
    unittest.main()
