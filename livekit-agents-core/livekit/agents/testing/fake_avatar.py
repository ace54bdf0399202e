"""An avatar for tests: takes over the audio output and records what the agent said."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..avatar import Avatar
from ..voice.io import SimulatedAudioOutput

if TYPE_CHECKING:
    from livekit import rtc

    from ..voice.agent_session import AgentSession

__all__ = ["FakeAvatar"]


class FakeAvatar(Avatar):
    def __init__(self, avatar_id: str = "fake-avatar") -> None:
        self._avatar_id = avatar_id
        self.frames: list[rtc.AudioFrame] = []
        self.started = False
        self.closed = False

    @property
    def provider(self) -> str:
        return "fake"

    @property
    def avatar_id(self) -> str:
        return self._avatar_id

    async def start(self, session: AgentSession[Any], room: Any) -> None:
        self.started = True
        session.output.audio = SimulatedAudioOutput(
            label=f"avatar:{self._avatar_id}", on_played=self.frames.extend, speed=10.0
        )

    async def aclose(self) -> None:
        self.closed = True
