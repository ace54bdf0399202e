"""``python -m livekit.agents plugins``: what is installed, by kind, for people and machines."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from livekit.agents.__main__ import main

FACTORY = '''
from livekit.agents.registry import provider

@provider(kind="tts", models=("voice-1", "voice-2"), description="Acme speech")
def tts(model, variant, **options):
    from livekit.agents.testing.fake_tts import FakeTTS
    return FakeTTS()
'''


def test_lists_providers_by_kind(make_dist: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    make_dist("livekit-plugins-acme", version="2.3.4",
              entry_points={"livekit.agents.tts": {"acme": "lkt_acme_cli:tts"}},
              modules={"lkt_acme_cli.py": FACTORY})
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "TTS (livekit.agents.tts):" in out
    assert "acme" in out and "livekit-plugins-acme 2.3.4" in out
    assert "MCP servers (livekit.agents.mcp):" in out


def test_json_output(make_dist: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    make_dist("livekit-plugins-acme", version="2.3.4",
              entry_points={"livekit.agents.tts": {"acme": "lkt_acme_cli:tts"}},
              modules={"lkt_acme_cli.py": FACTORY})
    assert main(["plugins", "--json", "--check"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["plugin_api"] == 1
    rows = {r["provider"]: r for r in data["providers"]["tts"]}
    assert rows["acme"]["distribution"] == "livekit-plugins-acme"
    assert rows["acme"]["version"] == "2.3.4"
    assert rows["acme"]["status"] == "ok"
    assert rows["acme"]["models"] == ["voice-1", "voice-2"]
    assert "fake" in {r["provider"] for r in data["providers"]["llm"]}


def test_check_reports_broken_plugins(make_dist: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    make_dist("livekit-plugins-broken", entry_points={"livekit.agents.stt": {"broken": "lkt_nope:stt"}})
    assert main(["plugins", "--check"]) == 1
    out = capsys.readouterr().out
    assert "error:" in out and "lkt_nope" in out
