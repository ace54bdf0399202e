"""Entry-point factories of the ``fake`` provider (``llm="fake/scripted"``, ``vad="fake"``...)."""

from __future__ import annotations

from typing import Any

from ..registry import provider

_LLM_MODELS = ("scripted", "echo")


@provider(kind="stt", description="scripted transcripts", models=("scripted",))
def stt(model: str | None, variant: str | None, **options: Any) -> Any:
    from .fake_stt import FakeSTT

    return FakeSTT(language=variant or "en", **options)


@provider(kind="llm", description="scripted replies and tool calls", models=_LLM_MODELS)
def llm(model: str | None, variant: str | None, **options: Any) -> Any:
    from .fake_llm import FakeLLM

    model = model or "scripted"
    if model not in _LLM_MODELS:
        raise ValueError(f"unknown fake LLM model {model!r}; use 'fake/scripted' or 'fake/echo'")
    if model == "echo":
        options.setdefault("echo", True)
    return FakeLLM(model=model, **options)


@provider(kind="tts", description="a tone as long as the text", models=("tone",))
def tts(model: str | None, variant: str | None, **options: Any) -> Any:
    from .fake_tts import FakeTTS

    return FakeTTS(voice=variant or "tone", **options)


@provider(kind="vad", description="energy-based VAD")
def vad(model: str | None, variant: str | None, **options: Any) -> Any:
    from .fake_vad import FakeVAD

    return FakeVAD(**options)


@provider(kind="turn_detector", description="rule-based end of turn")
def turn_detector(model: str | None, variant: str | None, **options: Any) -> Any:
    from .fake_turn_detector import FakeTurnDetector

    return FakeTurnDetector(**options)


@provider(kind="avatar", description="records the agent's audio")
def avatar(model: str | None, variant: str | None, **options: Any) -> Any:
    from .fake_avatar import FakeAvatar

    return FakeAvatar(avatar_id=model or "fake-avatar", **options)


@provider(kind="mcp", description="in-process MCP server with demo tools")
def mcp(model: str | None, variant: str | None, **options: Any) -> Any:
    from .fake_mcp import FakeMCPServer

    return FakeMCPServer(**options)
