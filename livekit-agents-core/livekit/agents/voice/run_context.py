"""``RunContext``: what a tool sees of the session that called it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from ..llm import FunctionCall
    from .agent_session import AgentSession
    from .speech_handle import SpeechHandle

__all__ = ["RunContext"]

Userdata_T = TypeVar("Userdata_T")


class RunContext(Generic[Userdata_T]):
    """Pass-through to the session, the speech that triggered the tool, and the call itself.

    Declare a parameter typed ``RunContext`` (e.g. ``context: RunContext[MyData]``) on a tool
    to receive it; the LLM never sees that parameter.
    """

    def __init__(
        self,
        *,
        session: AgentSession[Userdata_T],
        speech_handle: SpeechHandle,
        function_call: FunctionCall,
    ) -> None:
        self._session = session
        self._speech_handle = speech_handle
        self._function_call = function_call

    @property
    def session(self) -> AgentSession[Userdata_T]:
        return self._session

    @property
    def speech_handle(self) -> SpeechHandle:
        return self._speech_handle

    @property
    def function_call(self) -> FunctionCall:
        return self._function_call

    @property
    def userdata(self) -> Userdata_T:
        return self._session.userdata

    def disallow_interruptions(self) -> None:
        """Make the rest of this reply uninterruptible (e.g. while a payment goes through)."""
        self._speech_handle.allow_interruptions = False

    async def wait_for_playout(self) -> None:
        """Wait until what the agent said before calling this tool has finished playing."""
        await self._speech_handle._wait_for_step_playout()

    def __repr__(self) -> str:
        return f"RunContext(tool={self._function_call.name!r})"


