"""examples/make_notebook.py writes a valid nbformat 4.5 notebook whose outputs are this package's bundles."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

from tests.format_validator import decode, problems

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(PYTHON_DIR, "examples", "make_notebook.py")
MIME = "application/vnd.attention-explorer.attention+json"


class Notebook(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        folder = tempfile.mkdtemp()
        cls.path = os.path.join(folder, "attention.ipynb")
        started = time.monotonic()
        # From another directory, with the package not installed: the script finds the package beside it.
        result = subprocess.run([sys.executable, SCRIPT, cls.path], cwd=folder, capture_output=True, text=True,
                                timeout=60, env={**os.environ, "PYTHONPATH": ""})
        cls.seconds = time.monotonic() - started
        if result.returncode != 0:
            raise AssertionError(result.stderr)
        with open(cls.path, encoding="utf-8") as f:
            cls.notebook = json.load(f)
        os.unlink(cls.path)
        os.rmdir(folder)

    def test_nbformat_4_5_structure(self):
        nb = self.notebook
        self.assertEqual((nb["nbformat"], nb["nbformat_minor"]), (4, 5))
        self.assertEqual(nb["metadata"]["kernelspec"]["name"], "python3")
        self.assertEqual(nb["metadata"]["language_info"]["name"], "python")
        ids = [cell["id"] for cell in nb["cells"]]
        self.assertEqual(len(set(ids)), len(ids))
        for cell in nb["cells"]:
            self.assertRegex(cell["id"], r"^[a-zA-Z0-9_-]{1,64}$")
            self.assertIsInstance(cell["metadata"], dict)
            self.assertTrue(all(isinstance(line, str) for line in cell["source"]))
        self.assertEqual([c["cell_type"] for c in nb["cells"]], ["markdown", "code", "code", "code"])
        for cell in nb["cells"][1:]:
            self.assertEqual(set(cell), {"cell_type", "execution_count", "id", "metadata", "outputs", "source"})
            self.assertEqual(len(cell["outputs"]), 1)
            output = cell["outputs"][0]
            self.assertEqual(set(output), {"output_type", "data", "metadata"})
            self.assertEqual((output["output_type"], output["metadata"]), ("display_data", {}))
            self.assertEqual(set(output["data"]), {MIME, "text/html", "text/plain"})

    def test_each_output_is_a_valid_document(self):
        for cell in self.notebook["cells"][1:]:
            document = cell["outputs"][0]["data"][MIME]
            self.assertEqual(problems(document), [])
            for attention in document["attentions"]:
                values = decode(attention)
                rows = len({s["name"]: s for s in document["sequences"]}[attention["keys"]]["tokens"])
                for start in range(0, len(values), rows):  # every row of the random maps is a softmax
                    self.assertAlmostEqual(sum(values[start:start + rows]), 1.0, places=5)

    def test_the_three_outputs(self):
        documents = [cell["outputs"][0]["data"][MIME] for cell in self.notebook["cells"][1:]]
        bert, gpt2, marian = documents
        self.assertEqual(bert["model"], "test-bert (random weights)")
        self.assertEqual((bert["attentions"][0]["layers"], bert["attentions"][0]["heads"]), (2, 3))
        self.assertEqual(bert["sequences"][0]["tokens"][0], "[CLS]")
        self.assertEqual(len(bert["sequences"][0]["tokens"]), 7)
        self.assertEqual((gpt2["attentions"][0]["layers"], gpt2["attentions"][0]["heads"]), (3, 2))
        self.assertTrue(gpt2["attentions"][0]["causal"])
        self.assertEqual(gpt2["view"]["tab"], "head")
        self.assertEqual([a["name"] for a in marian["attentions"]], ["encoder", "decoder", "cross"])
        self.assertEqual(marian["view"], {"tab": "model"})

    def test_sources_show_the_calls(self):
        sources = ["".join(cell["source"]) for cell in self.notebook["cells"][1:]]
        self.assertRegex(sources[0], r"show\(attention, tokens, model=\"test-bert \(random weights\)\"\)")
        self.assertIn("head_view(", sources[1])
        self.assertTrue(re.search(r"model_view\(\s*encoder_attention=", sources[2]))
        for name in ("decoder_attention=", "cross_attention=", "encoder_tokens=", "decoder_tokens="):
            self.assertIn(name, sources[2])

    def test_deterministic_and_fast(self):
        self.assertLess(self.seconds, 5.0)  # < 1 s of work; the rest is the interpreter starting on a busy machine
        sys.path.insert(0, os.path.join(PYTHON_DIR, "examples"))
        try:
            import make_notebook
        finally:
            sys.path.remove(os.path.join(PYTHON_DIR, "examples"))
        self.assertEqual(make_notebook.notebook(), self.notebook)


if __name__ == "__main__":
    unittest.main()
