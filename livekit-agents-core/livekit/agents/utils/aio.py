"""Asyncio helpers: an unbounded closable channel and cancellation utilities."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Coroutine
from typing import Any, Generic, TypeVar

__all__ = ["Chan", "ChanClosed", "cancel_and_wait", "create_task", "next_or_raise"]

T = TypeVar("T")


class ChanClosed(Exception):
    """Raised by :meth:`Chan.recv` once the channel is closed and drained."""


class Chan(Generic[T]):
    """An unbounded single-loop channel. ``send_nowait`` never blocks; iteration ends on close."""

    __slots__ = ("_closed", "_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def send_nowait(self, item: T) -> None:
        if self._closed:
            raise ChanClosed("send on a closed channel")
        self._items.append(item)
        self._wake()

    def close(self) -> None:
        self._closed = True
        self._wake()

    def qsize(self) -> int:
        return len(self._items)

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def recv_nowait(self) -> T:
        if self._items:
            return self._items.popleft()
        if self._closed:
            raise ChanClosed
        raise asyncio.QueueEmpty

    async def recv(self) -> T:
        while not self._items:
            if self._closed:
                raise ChanClosed
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return await self.recv()
        except ChanClosed:
            raise StopAsyncIteration from None


async def cancel_and_wait(*tasks: asyncio.Future[Any] | None) -> None:
    """Cancel ``tasks`` and wait until they have finished, swallowing their results."""
    pending = [t for t in tasks if t is not None and not t.done()]
    for t in pending:
        t.cancel()
    if not pending:
        return
    waiter = asyncio.gather(*pending, return_exceptions=True)
    try:
        await asyncio.shield(waiter)
    except asyncio.CancelledError:
        # we were cancelled ourselves while waiting: still let the children finish
        with contextlib.suppress(BaseException):
            await waiter
        raise


_background: set[asyncio.Task[Any]] = set()


def create_task(coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
    """Create a task that is kept alive until done (asyncio only keeps weak references)."""
    task = asyncio.get_running_loop().create_task(coro, name=name)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


async def wait_any(*aws: Awaitable[Any]) -> None:
    """Return as soon as one awaitable finishes; the others are left running."""
    futs = [asyncio.ensure_future(a) for a in aws]
    await asyncio.wait(futs, return_when=asyncio.FIRST_COMPLETED)


async def next_or_raise(ch: Chan[T], task: asyncio.Task[Any]) -> T:
    """Next item of a stream's output channel; at the end, re-raise the producer's error.

    Raises ``StopAsyncIteration`` when the channel is closed and the producer succeeded.
    """
    try:
        return await ch.recv()
    except ChanClosed:
        pass
    if not task.done():
        await asyncio.shield(task)
    if not task.cancelled() and (exc := task.exception()) is not None:
        raise exc
    raise StopAsyncIteration
