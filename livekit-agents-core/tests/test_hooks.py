"""Observer hooks see the session lifecycle; a failing hook never breaks the session."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from livekit.agents import Agent, AgentSession, hooks
from livekit.agents.testing import FakeLLM


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    @hooks.hookimpl
    def session_started(self, session: Any) -> None:
        self.calls.append(("started", session))

    @hooks.hookimpl
    def conversation_item_added(self, session: Any, item: Any) -> None:
        self.calls.append(("item", item.role))

    @hooks.hookimpl
    def metrics_collected(self, metrics: Any) -> None:
        self.calls.append(("metrics", metrics.type))

    @hooks.hookimpl
    def session_closed(self, session: Any, reason: str, error: Any) -> None:
        self.calls.append(("closed", reason))


class Exploding:
    @hooks.hookimpl
    def conversation_item_added(self, session: Any, item: Any) -> None:
        raise RuntimeError("observer bug")


async def test_observers_see_the_lifecycle() -> None:
    rec = Recorder()
    hooks.register(rec)
    try:
        session = AgentSession(llm=FakeLLM(["Hi!"]))
        await session.start(Agent(instructions="x"))
        await session.run(user_input="hello")
        await session.aclose()
    finally:
        hooks.unregister(rec)
    kinds = [c[0] for c in rec.calls]
    assert kinds[0] == "started"
    assert ("item", "user") in rec.calls and ("item", "assistant") in rec.calls
    assert ("metrics", "llm_metrics") in rec.calls
    assert rec.calls[-1] == ("closed", "user_initiated")


async def test_failing_hook_is_logged_and_session_continues(caplog: pytest.LogCaptureFixture) -> None:
    bad = Exploding()
    hooks.register(bad)
    try:
        session = AgentSession(llm=FakeLLM(["Still here."]))
        await session.start(Agent(instructions="x"))
        with caplog.at_level(logging.ERROR):
            result = await session.run(user_input="hello")
        result.expect.next_event().is_message(role="assistant")
        await session.aclose()
    finally:
        hooks.unregister(bad)
    assert "observer hook conversation_item_added" in caplog.text
    assert "observer bug" in caplog.text


def test_entry_point_observers_load_and_can_be_disabled(make_dist: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    make_dist(
        "lk-observer",
        entry_points={"livekit.agents.hooks": {"watcher": "lkt_watcher"}},
        modules={"lkt_watcher.py": (
            "from livekit.agents.hooks import hookimpl\n"
            "seen = []\n"
            "@hookimpl\n"
            "def session_error(session, error):\n"
            "    seen.append(error)\n"
        )},
    )
    monkeypatch.setattr(hooks, "_manager", None)
    hooks.notify("session_error", session=None, error="e1")
    import lkt_watcher  # type: ignore[import-not-found]

    assert lkt_watcher.seen == ["e1"]

    monkeypatch.setattr(hooks, "_manager", None)
    monkeypatch.setenv("LIVEKIT_AGENTS_DISABLE_HOOKS", "watcher")
    hooks.notify("session_error", session=None, error="e2")
    assert lkt_watcher.seen == ["e1"]
    monkeypatch.setattr(hooks, "_manager", None)
