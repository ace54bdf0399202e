"""Hook through which console mode provides a session's I/O (instead of a room)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..voice.agent_session import AgentSession

__all__ = ["ConsoleIO", "console_io_for", "set_console_io"]


class ConsoleIO(Protocol):
    async def attach(self, session: AgentSession[Any]) -> None: ...


_active: ConsoleIO | None = None


def set_console_io(io: ConsoleIO | None) -> None:
    """Install (or remove) the console I/O used by the next sessions of this process."""
    global _active
    _active = io


def console_io_for(session: AgentSession[Any]) -> ConsoleIO | None:
    return _active
