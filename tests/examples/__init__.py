"""Tests of the example apps in examples/."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

WEBAPP = Path(__file__).resolve().parents[2] / "examples" / "webapp"


def webapp_module(name: str) -> ModuleType:
    """A module of the example web app (``app``, ``session_store``, ...), imported as the app
    imports its own modules: from its directory."""
    if str(WEBAPP) not in sys.path:
        sys.path.insert(0, str(WEBAPP))
    return importlib.import_module(name)
