"""``SpeechHandle``: one thing the agent says (a ``say()``, a reply, and its tool follow-ups)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from ..utils.misc import shortuuid

if TYPE_CHECKING:
    from ..llm import ChatItem, FunctionCall
    from .agent import Agent

__all__ = ["SpeechHandle"]

#: the speech whose tools are running in the current task (to catch self-deadlocks)
_current_tool_speech: contextvars.ContextVar[SpeechHandle | None] = contextvars.ContextVar(
    "lk_current_tool_speech", default=None
)


class _ToolCallScope:
    """One running tool call, as seen by the session it calls back into.

    ``open`` is true only while the tool runs: a task the tool spawned inherits the scope but
    must not act as the tool once the tool has returned. ``handoff`` is the agent the tool asked
    for with ``session.handoff()`` / ``session.update_agent()`` (the last call wins).
    """

    __slots__ = ("call", "handoff", "open", "speech")

    def __init__(self, speech: SpeechHandle, call: FunctionCall | None = None) -> None:
        self.speech = speech
        self.call = call
        self.open = True
        self.handoff: Agent | None = None


#: the tool call running in the current task (so a handoff from a tool waits for no one)
_current_tool_call: contextvars.ContextVar[_ToolCallScope | None] = contextvars.ContextVar(
    "lk_current_tool_call", default=None
)


class SpeechHandle:
    """Await it (or :meth:`wait_for_playout`) to wait until the speech finished playing.

    Speeches are queued and played one at a time, highest priority first.
    """

    SPEECH_PRIORITY_LOW = 0
    SPEECH_PRIORITY_NORMAL = 5
    SPEECH_PRIORITY_HIGH = 10

    def __init__(self, *, speech_id: str, allow_interruptions: bool) -> None:
        loop = asyncio.get_running_loop()
        self._id = speech_id
        self._allow_interruptions = allow_interruptions
        self._interrupt_fut: asyncio.Future[None] = loop.create_future()
        self._done_fut: asyncio.Future[None] = loop.create_future()
        self._scheduled_fut: asyncio.Future[None] = loop.create_future()
        self._authorized = asyncio.Event()
        self._step_playout = asyncio.Event()
        self._num_steps = 1
        self._chat_items: list[ChatItem] = []
        self._item_added_cbs: list[Callable[[ChatItem], None]] = []
        self._priority = self.SPEECH_PRIORITY_NORMAL
        self._error: BaseException | None = None
        #: conversation of AgentTasks its tools awaited, for the reply's next LLM step
        self._task_items: list[ChatItem] = []

    @staticmethod
    def create(allow_interruptions: bool = True) -> SpeechHandle:
        return SpeechHandle(speech_id=shortuuid("speech_"), allow_interruptions=allow_interruptions)

    def __repr__(self) -> str:
        state = "done" if self.done() else ("interrupted" if self.interrupted else "pending")
        return f"SpeechHandle({self._id}, {state})"

    @property
    def id(self) -> str:
        return self._id

    @property
    def num_steps(self) -> int:
        """1 for the first LLM generation, +1 for each round of tool results."""
        return self._num_steps

    @property
    def scheduled(self) -> bool:
        return self._scheduled_fut.done()

    @property
    def interrupted(self) -> bool:
        return self._interrupt_fut.done()

    @property
    def allow_interruptions(self) -> bool:
        return self._allow_interruptions

    @allow_interruptions.setter
    def allow_interruptions(self, value: bool) -> None:
        if self.interrupted and not value:
            raise RuntimeError("this speech was already interrupted")
        self._allow_interruptions = value

    @property
    def chat_items(self) -> list[ChatItem]:
        """Items this speech added to the conversation (messages, tool calls and outputs)."""
        return list(self._chat_items)

    def done(self) -> bool:
        return self._done_fut.done()

    def interrupt(self, *, force: bool = False) -> SpeechHandle:
        """Stop this speech. Raises RuntimeError if it disallows interruptions (unless ``force``)."""
        if not force and not self._allow_interruptions:
            raise RuntimeError("this speech does not allow interruptions")
        if not self._interrupt_fut.done():
            self._interrupt_fut.set_result(None)
        return self

    async def wait_for_playout(self) -> None:
        """Wait until the speech (including its tool follow-ups) is done."""
        if _current_tool_speech.get() is self:
            raise RuntimeError(
                "a tool cannot wait for the playout of the speech that called it (it would wait "
                "for itself); use RunContext.wait_for_playout() instead"
            )
        await asyncio.shield(self._done_fut)

    def __await__(self) -> Generator[Any, None, SpeechHandle]:
        async def _wait() -> SpeechHandle:
            await self.wait_for_playout()
            return self

        return _wait().__await__()

    def add_done_callback(self, callback: Callable[[SpeechHandle], None]) -> None:
        self._done_fut.add_done_callback(lambda _: callback(self))

    # -- used by the session -----------------------------------------------------------

    async def _wait_for_interrupt(self) -> None:
        await asyncio.shield(self._interrupt_fut)

    def _authorize(self) -> None:
        self._authorized.set()

    async def _wait_for_authorization(self) -> None:
        await self._authorized.wait()

    def _mark_scheduled(self) -> None:
        if not self._scheduled_fut.done():
            self._scheduled_fut.set_result(None)

    def _mark_step_played(self) -> None:
        self._step_playout.set()

    def _next_step(self) -> None:
        self._num_steps += 1
        self._step_playout = asyncio.Event()

    async def _wait_for_step_playout(self) -> None:
        await self._step_playout.wait()

    def _mark_done(self) -> None:
        self._step_playout.set()
        if not self._done_fut.done():
            self._done_fut.set_result(None)

    def _add_item(self, item: ChatItem) -> None:
        self._chat_items.append(item)
        for cb in list(self._item_added_cbs):
            cb(item)
