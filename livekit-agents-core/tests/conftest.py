"""Shared fixtures for core tests."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from livekit.agents import registry


@pytest.fixture
def make_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Path]]:
    """Install a throwaway distribution (metadata + entry points + modules) on sys.path."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    created_modules: list[str] = []

    def make(
        name: str,
        *,
        version: str = "1.0.0",
        entry_points: dict[str, dict[str, str]] | None = None,
        modules: dict[str, str] | None = None,
    ) -> Path:
        for rel, source in (modules or {}).items():
            path = site / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(source)
            created_modules.append(rel.removesuffix(".py").replace("/", ".").removesuffix(".__init__"))
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = []
        for group, eps in (entry_points or {}).items():
            lines.append(f"[{group}]")
            lines += [f"{k} = {v}" for k, v in eps.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        importlib.invalidate_caches()
        registry.refresh()
        return site

    yield make
    for mod in created_modules:
        sys.modules.pop(mod, None)
    registry.refresh()

pytest_plugins = ["pytester"]
