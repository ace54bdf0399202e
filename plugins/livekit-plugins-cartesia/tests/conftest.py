"""Fixtures: a fake Cartesia server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fake_servers.cartesia import FakeCartesia


@pytest.fixture
async def srv() -> AsyncIterator[FakeCartesia]:
    async with FakeCartesia() as server:
        yield server
