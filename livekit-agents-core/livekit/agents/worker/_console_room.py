"""An in-process stand-in for ``rtc.Room`` used by console runs (no server, no credentials)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..utils.event_emitter import EventEmitter

logger = logging.getLogger("livekit.agents")

__all__ = ["ConsoleParticipant", "ConsoleRoom"]


@dataclass
class ConsoleParticipant:
    identity: str
    name: str
    sid: str
    kind: int = 0  # STANDARD
    metadata: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    track_publications: dict[str, Any] = field(default_factory=dict)

    async def publish_data(self, payload: Any, **kwargs: Any) -> None:
        logger.debug("console: publish_data ignored (no server)")

    async def set_attributes(self, attributes: dict[str, str]) -> None:
        self.attributes.update(attributes)

    async def set_metadata(self, metadata: str) -> None:
        self.metadata = metadata


class ConsoleRoom(EventEmitter[str]):
    """Looks like a connected room with the agent and one user in it."""

    def __init__(self, name: str = "console") -> None:
        super().__init__()
        self.name = name
        self.sid = "RM_console"
        self.metadata = ""
        self.local_participant = ConsoleParticipant(identity="agent", name="Agent", sid="PA_agent", kind=4)
        user = ConsoleParticipant(identity="user", name="User", sid="PA_user")
        self.remote_participants: dict[str, ConsoleParticipant] = {user.identity: user}

    def isconnected(self) -> bool:
        return True

    @property
    def connection_state(self) -> int:
        return 2  # CONN_CONNECTED

    async def connect(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def disconnect(self) -> None:
        return None
