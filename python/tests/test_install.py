"""The package installs offline with plain pip, and the in-tree build backend writes correct archives."""

import base64
import hashlib
import importlib.util
import os
import struct
import subprocess
import sys
import tarfile
import tempfile
import unittest
import zipfile

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(PYTHON_DIR, "_build"))
try:
    import backend
finally:
    sys.path.pop(0)

HAS_PIP = importlib.util.find_spec("pip") is not None
IMPORT_CHECK = ("import attention_explorer as ae, sys; "
                "print(ae.__file__); print(ae.__version__); "
                "print(ae.show([[[[1.0]]]], ['a']).document['attentions'][0]['data'])")


def run(arguments, **options):
    # PYTHONPATH cleared and another working directory, so that the source tree cannot be what gets imported.
    result = subprocess.run(arguments, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": "", "PIP_NO_INDEX": "1",
                                 "PIP_DISABLE_PIP_VERSION_CHECK": "1"}, **options)
    if result.returncode != 0:
        raise AssertionError(f"{arguments} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class Backend(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.addCleanup(self.folder.cleanup)

    def check_record(self, wheel):
        names = wheel.namelist()
        record = wheel.read("attention_explorer-0.1.0.dist-info/RECORD").decode("utf-8").splitlines()
        listed = {}
        for line in record:
            name, digest, size = line.rsplit(",", 2)
            listed[name] = (digest, size)
        self.assertEqual(set(listed), set(names))
        for name in names:
            digest, size = listed[name]
            if name.endswith("RECORD"):
                self.assertEqual((digest, size), ("", ""))
                continue
            data = wheel.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            self.assertEqual((digest, size), (f"sha256={expected}", str(len(data))), name)

    def test_wheel(self):
        name = backend.build_wheel(self.folder.name)
        self.assertEqual(name, "attention_explorer-0.1.0-py3-none-any.whl")
        with zipfile.ZipFile(os.path.join(self.folder.name, name)) as wheel:
            self.check_record(wheel)
            names = wheel.namelist()
            self.assertIn("attention_explorer/__init__.py", names)
            self.assertIn("attention_explorer/_limits.py", names)
            self.assertFalse([n for n in names if "__pycache__" in n or n.startswith(("tests/", "_build/"))])
            wheel_file = wheel.read("attention_explorer-0.1.0.dist-info/WHEEL").decode()
            self.assertIn("Root-Is-Purelib: true", wheel_file)
            self.assertIn("Tag: py3-none-any", wheel_file)
            metadata = wheel.read("attention_explorer-0.1.0.dist-info/METADATA").decode()
        for line in ("Metadata-Version: 2.1", "Name: attention-explorer", "Version: 0.1.0", "License: MIT",
                     "Requires-Python: >=3.9"):
            self.assertIn(line + "\n", metadata)
        self.assertNotIn("Requires-Dist", metadata)  # no runtime dependencies

    def test_two_builds_are_identical(self):
        first, second = (os.path.join(self.folder.name, d) for d in ("1", "2"))
        os.mkdir(first)
        os.mkdir(second)
        for build in (backend.build_wheel, backend.build_sdist):
            with self.subTest(build.__name__):
                a, b = build(first), build(second)
                with open(os.path.join(first, a), "rb") as f, open(os.path.join(second, b), "rb") as g:
                    data = f.read()
                    self.assertEqual(data, g.read())
        # Builds a second apart would differ if gzip's own timestamp were the time of the build.
        self.assertEqual(struct.unpack("<I", data[4:8])[0], backend._EPOCH)

    def test_metadata_hook_matches_the_wheel(self):
        info = backend.prepare_metadata_for_build_wheel(self.folder.name)
        with open(os.path.join(self.folder.name, info, "METADATA"), encoding="utf-8") as f:
            prepared = f.read()
        with zipfile.ZipFile(os.path.join(self.folder.name, backend.build_wheel(self.folder.name))) as wheel:
            self.assertEqual(wheel.read(f"{info}/METADATA").decode("utf-8"), prepared)
        self.assertEqual(backend.get_requires_for_build_wheel(), [])
        self.assertEqual(backend.get_requires_for_build_sdist(), [])

    def test_sdist_holds_what_a_build_needs(self):
        name = backend.build_sdist(self.folder.name)
        self.assertEqual(name, "attention_explorer-0.1.0.tar.gz")
        with tarfile.open(os.path.join(self.folder.name, name)) as sdist:
            names = sdist.getnames()
        for needed in ("pyproject.toml", "README.md", "LICENSE", "PKG-INFO", "_build/backend.py",
                       "attention_explorer/__init__.py", "tests/test_install.py", "examples/make_notebook.py"):
            self.assertIn(f"attention_explorer-0.1.0/{needed}", names)
        self.assertFalse([n for n in names if "__pycache__" in n])

    def test_project_table_reader_agrees_with_tomllib(self):
        project = backend.read_project()
        self.assertEqual((project["name"], project["version"]), ("attention-explorer", "0.1.0"))
        import attention_explorer
        self.assertEqual(project["version"], attention_explorer.__version__)
        try:
            import tomllib
        except ImportError:
            self.skipTest("tomllib is Python 3.11+")
        with open(os.path.join(PYTHON_DIR, "pyproject.toml"), "rb") as f:
            self.assertEqual(tomllib.load(f)["project"], project)

    def test_project_table_reader_refuses_what_it_cannot_read(self):
        path = os.path.join(self.folder.name, "pyproject.toml")
        with open(path, "w") as f:
            f.write('[project]\nname = "x"\nlicense = {text = "MIT"}\n')
        with self.assertRaises(ValueError) as caught:
            backend.read_project(path)
        self.assertIn("line 3", str(caught.exception))

    def test_editable_wheel_imports_the_source_tree(self):
        name = backend.build_editable(self.folder.name)
        target = os.path.join(self.folder.name, "site")
        with zipfile.ZipFile(os.path.join(self.folder.name, name)) as wheel:
            self.check_record(wheel)
            wheel.extractall(target)
        self.assertFalse(os.path.exists(os.path.join(target, "tests")))
        output = run([sys.executable, "-c", f"import site; site.addsitedir({target!r}); " + IMPORT_CHECK],
                     cwd=self.folder.name)
        self.assertEqual(output.splitlines()[0], os.path.join(PYTHON_DIR, "attention_explorer", "__init__.py"))


@unittest.skipUnless(HAS_PIP, "pip is not installed")
class PipInstall(unittest.TestCase):
    def test_offline_install_and_import(self):
        with tempfile.TemporaryDirectory() as folder:
            target = os.path.join(folder, "site")
            run([sys.executable, "-m", "pip", "install", "--no-index", "--no-cache-dir", "--quiet", "--target",
                 target, PYTHON_DIR], cwd=folder)
            self.assertTrue(os.path.isdir(os.path.join(target, "attention_explorer-0.1.0.dist-info")))
            output = run([sys.executable, "-c", f"import sys; sys.path.insert(0, {target!r}); " + IMPORT_CHECK],
                         cwd=folder).splitlines()
            self.assertEqual(output[0], os.path.join(target, "attention_explorer", "__init__.py"))
            self.assertEqual(output[1:], ["0.1.0", "AACAPw=="])

    def test_offline_install_from_the_sdist(self):
        with tempfile.TemporaryDirectory() as folder:
            sdist = os.path.join(folder, backend.build_sdist(folder))
            target = os.path.join(folder, "site")
            run([sys.executable, "-m", "pip", "install", "--no-index", "--no-cache-dir", "--quiet", "--target",
                 target, sdist], cwd=folder)
            output = run([sys.executable, "-c", f"import sys; sys.path.insert(0, {target!r}); " + IMPORT_CHECK],
                         cwd=folder).splitlines()
            self.assertEqual(output[1:], ["0.1.0", "AACAPw=="])


if __name__ == "__main__":
    unittest.main()
