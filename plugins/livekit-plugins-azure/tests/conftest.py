"""Keeps a custom endpoint exported in the shell out of the tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_host_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests set ``AZURE_SPEECH_HOST`` themselves; it would replace the region they expect."""
    monkeypatch.delenv("AZURE_SPEECH_HOST", raising=False)
