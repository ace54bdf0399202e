"""The avatar protocol: a provider that turns the agent's speech into a video participant.

An avatar receives the agent's audio (it becomes the session's audio output) and publishes
synchronized video (and the audio) to the room, usually from the provider's servers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .voice.agent_session import AgentSession

__all__ = ["Avatar"]


class Avatar(ABC):
    """Base class of avatar providers (``AgentSession(avatar="provider/avatar-id")``)."""

    @property
    def provider(self) -> str:
        return "unknown"

    @property
    def avatar_id(self) -> str:
        return ""

    @abstractmethod
    async def start(self, session: AgentSession[Any], room: Any) -> None:
        """Join ``room`` and take over the session's audio output (``session.output.audio``)."""

    async def aclose(self) -> None:
        """Leave the room and release resources."""
