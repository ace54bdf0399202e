"""Fixtures: a fake Cartesia server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fake_servers.cartesia import FakeCartesia


@pytest.fixture(autouse=True)
def _no_base_url_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests set ``CARTESIA_BASE_URL`` themselves; one exported in the shell must not leak in."""
    monkeypatch.delenv("CARTESIA_BASE_URL", raising=False)


@pytest.fixture
async def srv() -> AsyncIterator[FakeCartesia]:
    async with FakeCartesia() as server:
        yield server
