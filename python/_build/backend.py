"""A PEP 517 / PEP 660 build backend for attention-explorer, standard library only.

pip builds packages in an isolated environment and would download setuptools into it; this machine (and many
offline or air-gapped ones) cannot. With ``requires = []`` and this backend on ``backend-path``, ``pip install
./python`` needs nothing but pip itself.

It builds one pure-Python wheel (``py3-none-any``) holding the ``attention_explorer`` package, an sdist, and an
editable wheel that imports the package from this source tree.
"""

import ast
import base64
import gzip
import hashlib
import io
import os
import tarfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "attention_explorer"
# Fixed timestamps (or SOURCE_DATE_EPOCH) make two builds of the same tree byte-identical.
_EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))  # 1980-01-01, the earliest a zip can store
_SDIST_FILES = ("pyproject.toml", "README.md", "LICENSE")
_SDIST_DIRS = ("_build", PACKAGE, "tests", "examples")


def read_project(path=None):
    """The ``[project]`` table of pyproject.toml, for the subset of TOML that file uses.

    Strict on purpose: a line it does not understand raises instead of being skipped, so a later edit that needs
    more TOML fails the build loudly rather than writing wrong metadata.
    """
    path = path or os.path.join(ROOT, "pyproject.toml")
    project, section = {}, None
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[") and line.endswith("]") and "=" not in line:
                section = line[1:-1].strip()
                continue
            if section != "project":
                continue
            key, sep, value = line.partition("=")
            try:
                if not sep:
                    raise ValueError("no '='")
                parsed = ast.literal_eval(value.strip())
                if not (isinstance(parsed, str) or (isinstance(parsed, list)
                                                    and all(isinstance(v, str) for v in parsed))):
                    raise ValueError("not a string or a list of strings")
            except (ValueError, SyntaxError) as error:
                raise ValueError(f"pyproject.toml line {number}: the build backend reads only `key = \"string\"`"
                                 f" or `key = [\"a\", \"b\"]` in [project] ({error}): {line}") from None
            project[key.strip()] = parsed
    return project


def _names(project):
    dist = project["name"].replace("-", "_")
    return dist, f"{dist}-{project['version']}"


def _metadata(project):
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project['description']}",
        f"License: {project['license']}",
        f"Requires-Python: {project['requires-python']}",
    ]
    lines += [f"Classifier: {c}" for c in project.get("classifiers", [])]
    readme = project.get("readme")
    if readme:
        with open(os.path.join(ROOT, readme), encoding="utf-8") as f:
            body = f.read()
        lines.append("Description-Content-Type: text/markdown")
        return "\n".join(lines) + "\n\n" + body
    return "\n".join(lines) + "\n"


_WHEEL = ("Wheel-Version: 1.0\nGenerator: attention-explorer _build/backend.py\nRoot-Is-Purelib: true\n"
          "Tag: py3-none-any\n")


def _source_files(top):
    """(path relative to python/, absolute path) of every file below `top`, sorted, without bytecode."""
    found = []
    for folder, dirs, files in os.walk(os.path.join(ROOT, top)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")):
                full = os.path.join(folder, name)
                found.append((os.path.relpath(full, ROOT).replace(os.sep, "/"), full))
    return found


def _dist_info_files(project):
    _, base = _names(project)
    info = f"{base}.dist-info"
    with open(os.path.join(ROOT, "LICENSE"), "rb") as f:
        license_text = f.read()
    return info, [
        (f"{info}/METADATA", _metadata(project).encode("utf-8")),
        (f"{info}/WHEEL", _WHEEL.encode("ascii")),
        (f"{info}/LICENSE", license_text),
    ]


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return f"{name},sha256={digest},{len(data)}"


def _write_wheel(directory, contents, project):
    """Writes `contents` (archive name, bytes) plus the dist-info files and RECORD; returns the wheel's name."""
    dist, base = _names(project)
    info, meta = _dist_info_files(project)
    entries = list(contents) + meta
    record = "\n".join([_record_line(n, d) for n, d in entries] + [f"{info}/RECORD,,"]) + "\n"
    entries.append((f"{info}/RECORD", record.encode("utf-8")))
    wheel_name = f"{base}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, wheel_name), "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in entries:
            entry = zipfile.ZipInfo(name, date_time=time.gmtime(max(_EPOCH, 315532800))[:6])
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(entry, data)
    return wheel_name


def _read(path):
    with open(path, "rb") as f:
        return f.read()


# PEP 517 hooks

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    project = read_project()
    info, meta = _dist_info_files(project)
    os.makedirs(os.path.join(metadata_directory, info), exist_ok=True)
    for name, data in meta:
        with open(os.path.join(metadata_directory, name), "wb") as f:
            f.write(data)
    return info


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project = read_project()
    return _write_wheel(wheel_directory, [(name, _read(full)) for name, full in _source_files(PACKAGE)], project)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # A finder for this one package instead of a .pth adding the whole python/ folder to sys.path: that would make
    # `tests`, `examples` and `_build` importable top-level names in the user's environment.
    project = read_project()
    package_dir = os.path.join(ROOT, PACKAGE)
    finder = (
        "import importlib.util, sys\n\n\n"
        "class _Finder:\n"
        "    @classmethod\n"
        "    def find_spec(cls, name, path=None, target=None):\n"
        f"        if name != {PACKAGE!r}:\n"
        "            return None\n"
        f"        return importlib.util.spec_from_file_location(name, {os.path.join(package_dir, '__init__.py')!r},\n"
        f"                                                      submodule_search_locations=[{package_dir!r}])\n\n\n"
        "def install():\n"
        "    if _Finder not in sys.meta_path:\n"
        "        sys.meta_path.append(_Finder)\n"
    )
    module = f"_{PACKAGE}_editable"
    contents = [
        (f"{module}.py", finder.encode("utf-8")),
        (f"{module}.pth", f"import {module}; {module}.install()\n".encode("utf-8")),
    ]
    return _write_wheel(wheel_directory, contents, project)


def build_sdist(sdist_directory, config_settings=None):
    project = read_project()
    _, base = _names(project)
    files = [(name, os.path.join(ROOT, name)) for name in _SDIST_FILES]
    for top in _SDIST_DIRS:
        files += _source_files(top)
    files.append(("PKG-INFO", None))
    sdist_name = f"{base}.tar.gz"
    # gzip stores a time of its own (now, by default): fixed too.
    with gzip.GzipFile(os.path.join(sdist_directory, sdist_name), "wb", mtime=_EPOCH) as packed, \
            tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as sdist:
        for name, full in files:
            data = _metadata(project).encode("utf-8") if full is None else _read(full)
            entry = tarfile.TarInfo(f"{base}/{name}")
            entry.size, entry.mtime, entry.mode = len(data), _EPOCH, 0o644
            sdist.addfile(entry, io.BytesIO(data))
    return sdist_name
