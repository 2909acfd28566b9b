"""pyproject's package list ships every file under cli/, runtime/ and templates/, under one name.

Nothing is built: the checks read pyproject.toml and the folders on disk, so they take
milliseconds. `pip wheel . --no-deps` is the slow, full check of the same thing.
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "setuptools"
]


def _package_of(folder: Path) -> str:
    """The import name setuptools gives `folder`, through the longest package-dir mapping."""
    relative = folder.relative_to(ROOT).as_posix()
    mappings = sorted(SETUPTOOLS["package-dir"].items(), key=lambda item: -len(item[1]))
    for name, base in mappings:
        if relative == base or relative.startswith(base + "/"):
            rest = relative[len(base) :].strip("/")
            return f"{name}.{rest.replace('/', '.')}" if rest else name
    raise AssertionError(f"{relative} is under no package-dir mapping")


def _shipped_folders() -> dict[Path, list[Path]]:
    """Folders under cli/, runtime/, templates/ holding files, caches and dot-folders left out."""
    folders: dict[Path, list[Path]] = {}
    for top in ("cli", "runtime", "templates"):
        for path in sorted((ROOT / top).rglob("*")):
            parts = path.relative_to(ROOT).parts
            if not path.is_file() or any(p == "__pycache__" or p.startswith(".") for p in parts):
                continue
            folders.setdefault(path.parent, []).append(path)
    return folders


def test_every_folder_holding_files_is_a_listed_package():
    listed = set(SETUPTOOLS["packages"])
    missing = sorted(_package_of(folder) for folder in _shipped_folders())
    missing = [name for name in missing if name not in listed]
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_every_file_is_a_module_or_matched_package_data():
    package_data: dict[str, list[str]] = SETUPTOOLS.get("package-data", {})
    unshipped = []
    for folder, files in _shipped_folders().items():
        patterns = package_data.get(_package_of(folder), []) + package_data.get("*", [])
        for file in files:
            if file.suffix != ".py" and not any(fnmatch.fnmatch(file.name, p) for p in patterns):
                unshipped.append(file.relative_to(ROOT).as_posix())
    assert not unshipped, f"add to [tool.setuptools.package-data]: {unshipped}"


def test_listed_packages_exist():
    for name in SETUPTOOLS["packages"]:
        base_name = max(
            (n for n in SETUPTOOLS["package-dir"] if name == n or name.startswith(n + ".")),
            key=len,
        )
        rest = name[len(base_name) :].lstrip(".").replace(".", "/")
        assert (ROOT / SETUPTOOLS["package-dir"][base_name] / rest).is_dir(), name


def test_data_folders_resolve_from_the_modules_that_use_them():
    from durable.runtime.dev.server import DASHBOARD_DIR
    from durable.runtime.worker.loader import SHIM_DIR

    assert (DASHBOARD_DIR / "index.html").is_file()
    assert (SHIM_DIR / "workers" / "__init__.py").is_file()


def test_testing_is_importable_under_one_name_only():
    import durable.testing

    # runtime/testing/ is durable.runtime.testing too in a default editable install; a strict one
    # and a wheel have no such module. Either way no second copy of the plugin's state loads.
    with pytest.raises(ImportError):
        importlib.import_module("durable.runtime.testing")
    assert "durable.runtime.testing" not in sys.modules
    assert sys.modules["durable.testing"] is durable.testing


def test_the_second_name_says_which_to_import():
    init = ROOT / "runtime" / "testing" / "__init__.py"
    spec = importlib.util.spec_from_file_location("durable.runtime.testing", init)
    assert spec is not None and spec.loader is not None
    with pytest.raises(ImportError, match=r"import durable\.testing instead"):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
