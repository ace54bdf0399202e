"""``AgentTask``: an agent that takes over for one job and hands a result back to its caller.

A function tool (or ``on_enter`` / ``on_exit``) awaits the task: the calling agent stops
listening, the task's agent talks with the user until it calls :meth:`AgentTask.complete`,
then the caller resumes with the result, and the task's conversation is merged into the
caller's context.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..llm import ToolError
from ..llm.chat_context import AgentHandoff
from ..log import logger
from .agent import Agent
from .events import ConversationItemAddedEvent
from .speech_handle import SpeechHandle, _current_tool_call

if TYPE_CHECKING:
    from .activity import AgentActivity
    from .agent_session import AgentSession

__all__ = ["AgentTask"]

TaskResult_T = TypeVar("TaskResult_T")


class AgentTask(Agent, Generic[TaskResult_T]):
    """An :class:`Agent` you ``await`` for a result, e.g. to collect an email address.

    ``await task`` works inside a function tool, ``on_enter`` or ``on_exit`` of the active
    agent. The caller's agent stops listening once it has finished what it is saying; the task
    becomes the active agent (its ``on_enter`` runs) until one of its tools calls
    :meth:`complete`. Then its ``on_exit`` runs, its conversation (without tool calls, unless
    ``preserve_function_call_history``) is merged into the caller's, the caller listens again,
    and ``await`` returns the result (or raises the exception given to :meth:`complete`).

    Without its own ``chat_ctx`` the task starts with the caller's conversation. A task runs
    once; handoffs are not possible while it runs (complete it, then hand off from the caller).
    """

    def __init__(
        self, *, instructions: str, preserve_function_call_history: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(instructions=instructions, **kwargs)
        self._preserve_function_call_history = preserve_function_call_history
        self._awaited = False
        self._completed = False
        self._result: Any = None
        self._exception: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._task_run: _TaskRun | None = None

    def done(self) -> bool:
        """Whether :meth:`complete` (or :meth:`cancel`) was called."""
        return self._completed

    def complete(self, result: TaskResult_T | BaseException) -> None:
        """Finish the task: ``await`` returns ``result``, or raises it if it is an exception."""
        if self._completed:
            raise RuntimeError(f"{self!r} is already completed")
        self._completed = True
        if isinstance(result, BaseException):
            self._exception = result
        else:
            self._result = result
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        if self._task_run is not None:
            self._task_run.unsuspend()

    def cancel(self) -> None:
        """Finish the task without a result: ``await`` raises :class:`ToolError`."""
        if not self._completed:
            self.complete(ToolError(f"the task {self.id} was cancelled"))

    def __await__(self) -> Generator[Any, None, TaskResult_T]:
        return self._run().__await__()

    async def _run(self) -> TaskResult_T:
        from .activity import _current_activity

        if self._awaited:
            raise RuntimeError(f"{self!r} was already awaited: an AgentTask runs once")
        caller = _current_activity.get()
        if caller is None or caller._closed or caller.session._activity is not caller:
            raise RuntimeError(
                "an AgentTask can only be awaited inside a function tool, on_enter or on_exit "
                "of the active agent"
            )
        self._awaited = True
        if not self._completed:
            self._waiter = asyncio.get_running_loop().create_future()
            self._task_run = _TaskRun(caller.session, self, caller)
            await self._task_run.run()
        if self._exception is not None:
            raise self._exception
        return self._result  # type: ignore[no-any-return]

    async def _wait_completed(self) -> None:
        if self._waiter is not None:
            await self._waiter


class _TaskRun:
    """Swaps the session's active agent to ``task`` and back, around the task's lifetime."""

    def __init__(self, session: AgentSession[Any], task: AgentTask[Any], caller: AgentActivity):
        self._session = session
        self._task = task
        self._caller = caller
        #: what the run results must not wait for while the task runs (it waits for the user)
        self._suspended: Any = None

    async def run(self) -> None:
        from .activity import AgentActivity, _current_hook

        session, task, caller = self._session, self._task, self._caller
        scope = _current_tool_call.get()
        if scope is not None and scope.open:
            self._suspended = scope.speech
            await scope.speech._wait_for_step_playout()  # the caller finishes its sentence
            run = session._run_result
            if scope.call is not None and run is not None and not run.done():
                run._report_call_early(scope.call)  # the call belongs to this turn, not the last
        else:
            hook = _current_hook.get()
            self._suspended = hook[0] if hook is not None else asyncio.current_task()
            if caller.current_speech is not None:
                await caller.current_speech.wait_for_playout()
        if session._closing or caller._closed:
            raise RuntimeError("the session closed before the AgentTask could start")

        await caller.pause()
        if not task._chat_ctx_given and not task.chat_ctx.items:
            task._chat_ctx = caller.agent.chat_ctx.copy(exclude_instructions=True)
        activity = AgentActivity(task, session)
        session._task_callers.append(caller)
        session._suspended.add(self._suspended)
        if session._run_result is not None:
            session._run_result._schedule_check()
        self._switch(caller.agent, task, activity)
        try:
            await activity.start()
            await task._wait_completed()
        except BaseException:
            await self._finish(activity, graceful=False)
            raise
        await self._finish(activity, graceful=True)

    async def _finish(self, activity: AgentActivity, *, graceful: bool) -> None:
        session, task, caller = self._session, self._task, self._caller
        try:
            if graceful and not session._closing:
                await activity.drain()
        except Exception:
            logger.exception("error while ending %r", task)
        finally:
            await activity.aclose()
            caller_ctx = caller.agent.chat_ctx
            known = {item.id for item in caller_ctx.items}
            caller_ctx.merge(
                task.chat_ctx,
                exclude_function_call=not task._preserve_function_call_history,
                exclude_instructions=True,
            )
            if isinstance(self._suspended, SpeechHandle):
                # the caller's reply after its tool also sees what the task said and heard
                self._suspended._task_items.extend(i for i in caller_ctx.items if i.id not in known)
            session._task_callers.remove(caller)
            self.unsuspend()
            if not session._closing and not caller._closed:
                self._switch(task, caller.agent, caller)
                caller.resume()

    def unsuspend(self) -> None:
        """The task is over: a run waits for the caller again (the run that completed the
        task also waits for the caller's reply, and records it)."""
        suspended = self._suspended
        if suspended is None or suspended not in self._session._suspended:
            return
        self._session._suspended.discard(suspended)
        run = self._session._run_result
        if run is not None and not run.done():
            if isinstance(suspended, asyncio.Task):
                run._watch_task(suspended)
            else:
                run._watch_speech(suspended, replay=False)

    def _switch(self, old: Agent, new: Agent, activity: AgentActivity) -> None:
        session = self._session
        session._agent, session._activity = new, activity
        item = AgentHandoff(old_agent_id=old.id, new_agent_id=new.id)
        session._history.insert(item)
        session._emit_event("conversation_item_added", ConversationItemAddedEvent(item=item))
        if session._run_result is not None:
            session._run_result._agent_handoff(item, old, new)
