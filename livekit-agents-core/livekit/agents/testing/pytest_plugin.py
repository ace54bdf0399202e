"""pytest plugin (entry point ``pytest11``): fixtures for testing agents with fake providers.

    async def test_reply(make_session, fake_llm):
        fake_llm.add_reply("Hi!")
        async with make_session(MyAgent(), llm=fake_llm) as session:
            result = await session.run(user_input="Hello")
            result.expect.next_event().is_message(role="assistant")

Async tests need an async test runner (pytest-asyncio, anyio) or ``AgentTest``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..voice.agent import Agent
    from ..voice.agent_session import AgentSession
    from .fake_llm import FakeLLM
    from .fake_stt import FakeSTT
    from .fake_tts import FakeTTS
    from .fake_vad import FakeVAD


@pytest.fixture
def fake_llm() -> FakeLLM:
    """A scriptable LLM: ``fake_llm.add_reply("...")`` or ``FakeResponse(tool_calls=...)``."""
    from .fake_llm import FakeLLM

    return FakeLLM()


@pytest.fixture
def fake_stt() -> FakeSTT:
    from .fake_stt import FakeSTT

    return FakeSTT()


@pytest.fixture
def fake_tts() -> FakeTTS:
    from .fake_tts import FakeTTS

    return FakeTTS()


@pytest.fixture
def fake_vad() -> FakeVAD:
    from .fake_vad import FakeVAD

    return FakeVAD()


@pytest.fixture
def make_session() -> Callable[..., contextlib.AbstractAsyncContextManager[AgentSession[Any]]]:
    """``async with make_session(agent, **session_kwargs) as session``: a started text-only
    session (an echoing fake LLM unless ``llm=`` is given), closed at the end of the block."""

    @contextlib.asynccontextmanager
    async def factory(agent: Agent, **kwargs: Any) -> AsyncIterator[AgentSession[Any]]:
        from ..voice.agent_session import AgentSession
        from .fake_llm import FakeLLM

        kwargs.setdefault("llm", FakeLLM(echo=True))
        session: AgentSession[Any] = AgentSession(**kwargs)
        await session.start(agent)
        try:
            yield session
        finally:
            await session.aclose()

    return factory
