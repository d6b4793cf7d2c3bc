"""The package's own files: the licence the metadata claims, the changelog, py.typed shipped,
an install that does not pull PyTorch's CUDA build, and the version the CLI prints."""

from __future__ import annotations

import fnmatch
import pathlib

import pytest

import symgrad as sg

ROOT = pathlib.Path(__file__).resolve().parent.parent
tomllib = pytest.importorskip("tomllib")  # Python 3.11+


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_licence_is_the_mit_text_the_metadata_claims():
    meta = project()["project"]
    assert meta["license"] == "MIT" and meta["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "symgrad contributors" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text


def test_changelog_has_an_unreleased_section_and_the_release():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in text and f"## [{sg.__version__}]" in text


def test_py_typed_ships_with_the_package():
    assert (ROOT / "symgrad" / "py.typed").exists()
    assert "py.typed" in project()["tool"]["setuptools"]["package-data"]["symgrad"]


def test_every_data_file_of_the_package_is_package_data():
    """A file in symgrad/ that is not Python (the C runtime's .c/.h, a template, py.typed) ships
    in the wheel only if a package-data glob of its package names it: a new runtime file type
    fails here, not in a user's install."""
    globs = project()["tool"]["setuptools"]["package-data"]
    data = [
        f
        for f in (ROOT / "symgrad").rglob("*")
        if f.is_file() and f.suffix not in (".py", ".pyc") and "__pycache__" not in f.parts
    ]
    assert any(f.suffix == ".h" for f in data) and any(f.suffix == ".c" for f in data)
    for f in data:
        pkg = f.parent
        while not (pkg / "__init__.py").exists():
            pkg = pkg.parent
        name = ".".join(pkg.relative_to(ROOT).parts)
        rel = f.relative_to(pkg).as_posix()
        patterns = globs.get(name, [])
        assert any(fnmatch.fnmatch(rel, g) for g in patterns), (rel, name, patterns)


def test_metadata_classifiers_and_extras():
    meta = project()["project"]
    assert "Typing :: Typed" in meta["classifiers"] and meta["version"] == sg.__version__
    assert not any(
        r.split("[")[0].strip().startswith("torch") for r in meta["optional-dependencies"]["bench"]
    )
    assert meta["optional-dependencies"]["plot"] == ["matplotlib>=3.5"]
