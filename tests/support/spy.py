"""A spy for unit tests: the arguments a module-level function is called with, in order."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest


def calls_of(monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str) -> list[Any]:
    """Replace ``module.name`` (a one-argument function) by one that records each argument
    and calls the original; the list fills as the code under test calls it."""
    seen: list[Any] = []
    original = getattr(module, name)

    def counted(argument: Any) -> Any:
        seen.append(argument)
        return original(argument)

    monkeypatch.setattr(module, name, counted)
    return seen
