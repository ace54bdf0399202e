"""``RunResult``: what the agent did in response to one ``session.run(user_input=...)``.

Assertions read like the conversation: ``result.expect.next_event().is_function_call(name=
"get_weather")``. A failed assertion raises ``AssertionError`` with the events of the run
and the conversation so far, so a failing test explains itself.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, Union

from ..llm import AgentHandoff, ChatMessage, FunctionCall, FunctionCallOutput

if TYPE_CHECKING:
    from ..llm import LLM
    from .agent import Agent
    from .agent_session import AgentSession
    from .speech_handle import SpeechHandle

__all__ = [
    "AgentHandoffEvent",
    "ChatMessageAssert",
    "ChatMessageEvent",
    "EventAssert",
    "EventRangeAssert",
    "FunctionCallEvent",
    "FunctionCallOutputEvent",
    "RunAssert",
    "RunEvent",
    "RunResult",
]


@dataclass
class ChatMessageEvent:
    item: ChatMessage
    type: Literal["message"] = "message"


@dataclass
class FunctionCallEvent:
    item: FunctionCall
    type: Literal["function_call"] = "function_call"


@dataclass
class FunctionCallOutputEvent:
    item: FunctionCallOutput
    type: Literal["function_call_output"] = "function_call_output"


@dataclass
class AgentHandoffEvent:
    item: AgentHandoff
    old_agent: Agent | None
    new_agent: Agent
    type: Literal["agent_handoff"] = "agent_handoff"


RunEvent: TypeAlias = Union[ChatMessageEvent, FunctionCallEvent, FunctionCallOutputEvent, AgentHandoffEvent]


class RunResult:
    """Collects the events of one run; await it to wait until the agent is done."""

    def __init__(self, *, session: AgentSession[Any], user_input: str | None) -> None:
        self._session = session
        self.user_input = user_input
        self._events: list[RunEvent] = []
        self._speeches: set[SpeechHandle] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._armed = False
        self._expect: RunAssert | None = None
        self._check_scheduled = False

    @property
    def events(self) -> list[RunEvent]:
        return list(self._events)

    @property
    def expect(self) -> RunAssert:
        if self._expect is None:
            self._expect = RunAssert(self)
        return self._expect

    def done(self) -> bool:
        return self._done.done()

    def __await__(self) -> Generator[Any, None, RunResult]:
        async def wait() -> RunResult:
            await asyncio.shield(self._done)
            errors = [s._error for s in self._speeches if s._error is not None]
            if errors:
                raise errors[0]
            return self

        return wait().__await__()

    # -- fed by the session ---------------------------------------------------------------

    def _arm(self) -> None:
        self._armed = True
        self._schedule_check()

    def _watch_speech(self, speech: SpeechHandle, *, replay: bool = True) -> None:
        if speech in self._speeches:
            return
        self._speeches.add(speech)
        for item in speech.chat_items if replay else ():
            self._item_added(item)
        speech._item_added_cbs.append(self._item_added)
        speech.add_done_callback(lambda _: self._schedule_check())

    def _watch_task(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(lambda _: self._schedule_check())

    def _report_call_early(self, call: FunctionCall) -> None:
        """Record a tool call now, while the tool still runs (it awaits an AgentTask that lasts
        several turns); the run that sees the tool finish records only its output."""
        self._session._calls_reported_early.add(call.call_id)
        self._events.append(FunctionCallEvent(item=call))

    def _item_added(self, item: Any) -> None:
        if self.done():
            return
        if isinstance(item, FunctionCall) and item.call_id in self._session._calls_reported_early:
            self._session._calls_reported_early.discard(item.call_id)
            return
        if isinstance(item, ChatMessage):
            self._events.append(ChatMessageEvent(item=item))
        elif isinstance(item, FunctionCall):
            self._events.append(FunctionCallEvent(item=item))
        elif isinstance(item, FunctionCallOutput):
            self._events.append(FunctionCallOutputEvent(item=item))

    def _agent_handoff(self, item: AgentHandoff, old: Agent | None, new: Agent) -> None:
        if not self.done():
            self._events.append(AgentHandoffEvent(item=item, old_agent=old, new_agent=new))

    def _schedule_check(self) -> None:
        if self._check_scheduled or self.done():
            return
        self._check_scheduled = True
        asyncio.get_running_loop().call_soon(self._check)

    def _check(self) -> None:
        self._check_scheduled = False
        if not self._armed or self.done():
            return
        # what waits on a running AgentTask waits for the user: the run does not wait for it
        suspended = self._session._suspended
        if all(s.done() or s in suspended for s in self._speeches) and all(
            t.done() or t in suspended for t in self._tasks
        ):
            self._done.set_result(None)
            for s in self._speeches:
                if self._item_added in s._item_added_cbs:
                    s._item_added_cbs.remove(self._item_added)

    # -- reporting ------------------------------------------------------------------------

    def _describe(self) -> str:
        lines = [f"Run for user input {self.user_input!r}:" if self.user_input else "Run:"]
        if not self._events:
            lines.append("  (no events)")
        for i, ev in enumerate(self._events):
            lines.append(f"  [{i}] {_format_event(ev)}")
        lines.append("Conversation so far:")
        lines.append(self._session.history._text_transcript())
        return "\n".join(lines)


def _format_event(ev: RunEvent) -> str:
    if isinstance(ev, ChatMessageEvent):
        flag = " (interrupted)" if ev.item.interrupted else ""
        return f"message {ev.item.role}: {ev.item.text_content!r}{flag}"
    if isinstance(ev, FunctionCallEvent):
        return f"function_call {ev.item.name}({ev.item.arguments})"
    if isinstance(ev, FunctionCallOutputEvent):
        err = " error" if ev.item.is_error else ""
        return f"function_call_output{err} {ev.item.name}: {ev.item.output!r}"
    return f"agent_handoff {type(ev.old_agent).__name__} -> {type(ev.new_agent).__name__}"


def _args_match(expected: dict[str, Any], raw: str) -> bool:
    try:
        actual = json.loads(raw or "{}")
    except ValueError:
        return False
    return isinstance(actual, dict) and all(actual.get(k) == v for k, v in expected.items())


class EventAssert:
    def __init__(self, event: RunEvent, result: RunResult, index: int) -> None:
        self._event = event
        self._result = result
        self._index = index

    def event(self) -> RunEvent:
        return self._event

    def _fail(self, message: str) -> AssertionError:
        return AssertionError(f"{message} (event [{self._index}])\n{self._result._describe()}")

    def is_message(self, *, role: str | None = None) -> ChatMessageAssert:
        ev = self._event
        if not isinstance(ev, ChatMessageEvent):
            raise self._fail(f"expected a message, got {_format_event(ev)}")
        if role is not None and ev.item.role != role:
            raise self._fail(f"expected a {role} message, got a {ev.item.role} message")
        return ChatMessageAssert(ev, self._result, self._index)

    def is_function_call(
        self, *, name: str | None = None, arguments: dict[str, Any] | None = None
    ) -> FunctionCallEvent:
        ev = self._event
        if not isinstance(ev, FunctionCallEvent):
            raise self._fail(f"expected a function call, got {_format_event(ev)}")
        if name is not None and ev.item.name != name:
            raise self._fail(f"expected a call to {name!r}, got a call to {ev.item.name!r}")
        if arguments is not None and not _args_match(arguments, ev.item.arguments):
            raise self._fail(f"expected arguments including {arguments}, got {ev.item.arguments}")
        return ev

    def is_function_call_output(
        self, *, output: str | None = None, is_error: bool | None = None
    ) -> FunctionCallOutputEvent:
        ev = self._event
        if not isinstance(ev, FunctionCallOutputEvent):
            raise self._fail(f"expected a function call output, got {_format_event(ev)}")
        if output is not None and ev.item.output != output:
            raise self._fail(f"expected output {output!r}, got {ev.item.output!r}")
        if is_error is not None and ev.item.is_error != is_error:
            raise self._fail(f"expected is_error={is_error}, got {ev.item.is_error}")
        return ev

    def is_agent_handoff(self, *, new_agent_type: type | None = None) -> AgentHandoffEvent:
        ev = self._event
        if not isinstance(ev, AgentHandoffEvent):
            raise self._fail(f"expected an agent handoff, got {_format_event(ev)}")
        if new_agent_type is not None and not isinstance(ev.new_agent, new_agent_type):
            raise self._fail(
                f"expected a handoff to {new_agent_type.__name__}, got {type(ev.new_agent).__name__}"
            )
        return ev


class ChatMessageAssert:
    def __init__(self, event: ChatMessageEvent, result: RunResult, index: int) -> None:
        self._event = event
        self._result = result
        self._index = index

    def event(self) -> ChatMessageEvent:
        return self._event

    async def judge(self, llm: LLM, *, intent: str) -> ChatMessageAssert:
        """Ask ``llm`` whether the message fulfils ``intent``; fail with its reason if not."""
        from ._judge import judge_message

        ok, reason = await judge_message(llm, self._event.item, intent=intent)
        if not ok:
            raise AssertionError(
                f"Judgement failed: {reason} (event [{self._index}])\n{self._result._describe()}"
            )
        return self


@dataclass
class EventRangeAssert:
    events: list[RunEvent]
    result: RunResult = field(repr=False)
    offset: int = 0

    def _find(self, predicate: Callable[[EventAssert], object], what: str) -> EventAssert:
        for i, ev in enumerate(self.events):
            try:
                ea = EventAssert(ev, self.result, self.offset + i)
                predicate(ea)
                return ea
            except AssertionError:
                continue
        raise AssertionError(f"no event matches: {what}\n{self.result._describe()}")

    def contains_function_call(
        self, *, name: str | None = None, arguments: dict[str, Any] | None = None
    ) -> EventAssert:
        return self._find(lambda e: e.is_function_call(name=name, arguments=arguments),
                          f"function call {name or ''} {arguments or ''}".strip())

    def contains_message(self, *, role: str | None = None) -> EventAssert:
        return self._find(lambda e: e.is_message(role=role), f"message role={role}")

    def contains_function_call_output(
        self, *, output: str | None = None, is_error: bool | None = None
    ) -> EventAssert:
        return self._find(lambda e: e.is_function_call_output(output=output, is_error=is_error),
                          f"function call output {output!r} is_error={is_error}")

    def contains_agent_handoff(self, *, new_agent_type: type | None = None) -> EventAssert:
        return self._find(lambda e: e.is_agent_handoff(new_agent_type=new_agent_type),
                          f"agent handoff to {getattr(new_agent_type, '__name__', 'any agent')}")


_TYPES = {
    "message": ChatMessageEvent,
    "function_call": FunctionCallEvent,
    "function_call_output": FunctionCallOutputEvent,
    "agent_handoff": AgentHandoffEvent,
}


class RunAssert(EventRangeAssert):
    """Cursor over the events of a run."""

    def __init__(self, result: RunResult) -> None:
        super().__init__(events=result._events, result=result)
        self._cursor = 0

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            start, _, _ = index.indices(len(self.events))
            return EventRangeAssert(self.events[index], self.result, offset=start)
        try:
            ev = self.events[index]
        except IndexError:
            raise AssertionError(
                f"there is no event [{index}] ({len(self.events)} events)\n{self.result._describe()}"
            ) from None
        return EventAssert(ev, self.result, index if index >= 0 else len(self.events) + index)

    def next_event(self, *, type: str | None = None) -> EventAssert:
        """The next event (of ``type``, skipping others if given)."""
        if type is not None and type not in _TYPES:
            raise ValueError(f"unknown event type {type!r}; expected one of {', '.join(_TYPES)}")
        while self._cursor < len(self.events):
            ev = self.events[self._cursor]
            self._cursor += 1
            if type is None or isinstance(ev, _TYPES[type]):
                return EventAssert(ev, self.result, self._cursor - 1)
        wanted = f"{type} event" if type else "event"
        raise AssertionError(f"expected another {wanted}, but there are no more\n{self.result._describe()}")

    def skip_next(self, count: int = 1) -> RunAssert:
        for _ in range(count):
            self.next_event()
        return self

    def skip_next_event_if(self, *, type: str, **kwargs: Any) -> RunAssert:
        if self._cursor >= len(self.events):
            return self
        ea = EventAssert(self.events[self._cursor], self.result, self._cursor)
        check: Callable[[], object] | None = {
            "message": lambda: ea.is_message(**kwargs),
            "function_call": lambda: ea.is_function_call(**kwargs),
            "function_call_output": lambda: ea.is_function_call_output(**kwargs),
            "agent_handoff": lambda: ea.is_agent_handoff(**kwargs),
        }.get(type)
        if check is None:
            raise ValueError(f"unknown event type {type!r}")
        try:
            check()
        except AssertionError:
            return self
        self._cursor += 1
        return self

    def no_more_events(self) -> None:
        if self._cursor < len(self.events):
            rest = ", ".join(_format_event(e) for e in self.events[self._cursor:])
            raise AssertionError(f"expected no more events, got: {rest}\n{self.result._describe()}")
