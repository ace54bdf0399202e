"""One job from start to end: the room, the ``JobContext``, the entrypoint, the shutdown sequence.

Shared by the process and the thread executors; it runs on the job's own event loop. The job
lives until ``ctx.shutdown()`` is called, the room disconnects, the worker asks it to stop (the
``stop`` future resolves with a reason) or the entrypoint raises. The entrypoint returning does
not end the job: a session started by it keeps running in the room.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from ..log import logger
from ._ipc import StartJob
from .job import JobContext, JobProcess

__all__ = ["run_job"]

#: how long an entrypoint that called ``ctx.shutdown()`` may take to return before it is cancelled
_USER_SHUTDOWN_GRACE = 2.0
#: how long a cancelled entrypoint may take to unwind
_CANCEL_WAIT = 5.0


async def run_job(
    *,
    entrypoint: Callable[[JobContext], Any],
    proc: JobProcess,
    start: StartJob,
    stop: asyncio.Future[str],
) -> str | None:
    """Run the job; the error that failed it, or None when it ended normally."""
    from livekit.protocol import agent as agent_pb

    job = agent_pb.Job()
    job.ParseFromString(start.job)
    loop = asyncio.get_running_loop()
    room = _make_room(job, loop)
    ctx = JobContext(
        proc=proc, job=job, room=room, url=start.url, token=start.token, worker_id=start.worker_id
    )
    ctx._enter()

    disconnected: asyncio.Future[str] = loop.create_future()

    def on_disconnected(*_: Any) -> None:
        if not disconnected.done():
            disconnected.set_result("room disconnected")

    room.on("disconnected", on_disconnected)
    entry = asyncio.create_task(_call(entrypoint, ctx), name="job_entrypoint")
    user_shutdown = asyncio.ensure_future(ctx.wait_for_shutdown())
    waiting: set[asyncio.Future[Any]] = {entry, user_shutdown, stop, disconnected}
    error: str | None = None
    reason = ""
    while not reason:
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if entry in done:
            waiting.discard(entry)
            error = _entry_error(entry)
            if error is not None:
                reason = "job crashed"
            elif not ctx._connected and not user_shutdown.done():
                logger.warning(
                    "the entrypoint returned without connecting to the room or calling "
                    "ctx.shutdown(); the job stays alive until the server ends it"
                )
        if reason:
            break
        if user_shutdown.done():
            reason = user_shutdown.result() or "user requested"
        elif stop.done():
            reason = stop.result() or "worker requested"
        elif disconnected.done():
            reason = disconnected.result()

    ctx.shutdown(reason)
    if not entry.done():
        if user_shutdown.done():
            await asyncio.wait({entry}, timeout=_USER_SHUTDOWN_GRACE)
        if not entry.done():
            entry.cancel()
            await asyncio.wait({entry}, timeout=_CANCEL_WAIT)
        if entry.done() and error is None:
            error = _entry_error(entry)
    for fut in (user_shutdown, disconnected):
        fut.cancel()
    room.off("disconnected", on_disconnected)
    logger.debug("job %s ending: %s", job.id, reason)
    await ctx._run_shutdown(reason)
    return error


async def _call(entrypoint: Callable[[JobContext], Any], ctx: JobContext) -> None:
    result = entrypoint(ctx)
    if inspect.isawaitable(result):
        await result


def _entry_error(entry: asyncio.Task[None]) -> str | None:
    if entry.cancelled():
        return None
    exc = entry.exception()
    if exc is None:
        return None
    logger.error("the job entrypoint raised", exc_info=exc)
    return f"{type(exc).__name__}: {exc}"


def _make_room(job: Any, loop: asyncio.AbstractEventLoop) -> Any:
    from livekit import rtc

    room = rtc.Room(loop=loop)
    info = getattr(room, "_info", None)
    if info is not None:
        # so ``ctx.room.name`` is right before the entrypoint connects
        try:
            info.name = job.room.name
            info.sid = job.room.sid
            info.metadata = job.room.metadata
        except (AttributeError, TypeError, ValueError):
            pass
    return room
