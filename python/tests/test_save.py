"""save() and AttentionView.save(): the bundle's document as a .attention.json file."""

import json
import os
import stat
import tempfile
import unittest

import attention_explorer as ae
from tests.support import FormatAssertions, random_attention

TOKENS = ["[CLS]", "é", "😀", "[SEP]"]


class Save(FormatAssertions, unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.addCleanup(self.folder.cleanup)
        self.attention = random_attention(1, layers=2, heads=2, rows=4)

    def path(self, name="run.attention.json"):
        return os.path.join(self.folder.name, name)

    def read(self, path):
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))

    def test_writes_the_bundles_document_as_utf8_json(self):
        view = ae.show(self.attention, TOKENS, model="m", precision="float16")
        returned = ae.save(self.path(), self.attention, TOKENS, model="m", precision="float16")
        self.assertEqual(returned, self.path())
        document = self.read(self.path())
        self.assertEqual(document, view._repr_mimebundle_()[ae.MIME_TYPE])
        self.assertValidDocument(document)
        with open(self.path(), "rb") as f:
            self.assertIn("😀".encode("utf-8"), f.read())  # UTF-8, not \\u escapes
        self.assertEqual(os.listdir(self.folder.name), ["run.attention.json"])  # no temporary file left

    def test_save_a_view_and_the_view_method(self):
        view = ae.head_view(self.attention, TOKENS, html_action="return")
        ae.save(self.path("a.attention.json"), view)
        view.save(self.path("b.attention.json"))
        self.assertEqual(self.read(self.path("a.attention.json")), view.document)
        self.assertEqual(self.read(self.path("b.attention.json")), view.document)

    def test_replaces_an_existing_file_with_the_usual_permissions(self):
        with open(self.path(), "w") as f:
            f.write("old")
        ae.save(self.path(), self.attention, TOKENS)
        self.assertEqual(self.read(self.path())["sequences"][0]["tokens"], TOKENS)
        if os.name == "posix":
            umask = os.umask(0)
            os.umask(umask)
            self.assertEqual(stat.S_IMODE(os.stat(self.path()).st_mode), 0o666 & ~umask)

    def test_refuses_other_suffixes_suggesting_the_right_name(self):
        for name in ("run.json", "run", "run.attention.JSON"):
            with self.subTest(name):
                with self.assertRaises(ValueError) as caught:
                    ae.save(self.path(name), self.attention, TOKENS)
                self.assertIn("must end in .attention.json", str(caught.exception))
                self.assertIn(f"try {self.path('run.attention.json')!r}", str(caught.exception))
                with self.assertRaises(ValueError):
                    ae.show(self.attention, TOKENS).save(self.path(name))
        self.assertEqual(os.listdir(self.folder.name), [])

    def test_wrong_arguments(self):
        view = ae.show(self.attention, TOKENS)
        with self.assertRaises(TypeError):
            ae.save(self.path(), view, TOKENS)
        with self.assertRaises(TypeError):
            ae.save(self.path(), self.attention)

    def test_a_failed_write_leaves_nothing_behind(self):
        with self.assertRaises(OSError):
            ae.save(os.path.join(self.folder.name, "missing", "x.attention.json"), self.attention, TOKENS)
        self.assertEqual(os.listdir(self.folder.name), [])


if __name__ == "__main__":
    unittest.main()
