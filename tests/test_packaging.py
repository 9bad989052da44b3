"""The package ships every module and its migrations (a missed subpackage breaks installs)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from tests.conftest import ROOT


def test_every_subpackage_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "authserver").rglob("__init__.py")
    }
    assert found | {"authserver.migrations"} == listed


def test_migrations_ship_as_a_package() -> None:
    assert (ROOT / "migrations" / "__init__.py").exists()
    assert list((ROOT / "migrations" / "versions").glob("0001_*.py"))


def test_the_python_sdk_builds_a_typed_wheel(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(tmp_path), str(ROOT / "sdk" / "python")], check=True)
    (wheel,) = tmp_path.glob("protekt-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"protekt/py.typed", "protekt/client.py", "protekt/flask.py"} <= names
