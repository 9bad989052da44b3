"""The package ships every module and its migrations (a missed subpackage breaks installs)."""

from __future__ import annotations

import tomllib

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
