"""Keeps ``num_idle`` executors prewarmed so an assigned job starts without waiting for a spawn."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable

from ..log import logger
from ._executor import JobExecutor

__all__ = ["ExecutorPool"]


class ExecutorPool:
    def __init__(
        self, create: Callable[[], JobExecutor], *, num_idle: int, max_concurrent_inits: int = 4
    ) -> None:
        self._create = create
        self._num_idle = num_idle
        self._init_sem = asyncio.Semaphore(max(1, max_concurrent_inits))
        self._idle: deque[JobExecutor] = deque()
        self._warming: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Condition()
        self._waiters = 0
        self._failures = 0
        self._last_error: BaseException | None = None
        self._closed = False

    @property
    def idle_count(self) -> int:
        return sum(1 for e in self._idle if e.alive)

    async def start(self, *, timeout: float) -> None:
        """Start warming ``num_idle`` executors; wait (up to ``timeout``) until they are ready."""
        self._refill()
        if not self._warming:
            return
        try:
            await asyncio.wait_for(self._wait_warm(), timeout)
        except asyncio.TimeoutError:
            logger.warning("%d of %d job processes are ready after %g s; continuing",
                           self.idle_count, self._num_idle, timeout)

    async def _wait_warm(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: not self._warming)

    async def acquire(self) -> JobExecutor:
        """A ready executor: a warm one, or one started now (raises when starting fails)."""
        self._waiters += 1
        failures_seen = self._failures
        try:
            while True:
                if self._closed:
                    raise RuntimeError("the worker is shutting down")
                executor = self._pop_idle()
                if executor is not None:
                    return executor
                if self._failures != failures_seen and not self._warming:
                    assert self._last_error is not None
                    raise self._last_error
                if len(self._warming) < self._waiters:
                    self._spawn()
                async with self._changed:
                    await self._changed.wait()
        finally:
            self._waiters -= 1
            self._refill()

    async def aclose(self) -> None:
        self._closed = True
        for task in list(self._warming):
            task.cancel()
        if self._warming:
            await asyncio.wait(self._warming)
        async with self._changed:
            self._changed.notify_all()
        idle, self._idle = list(self._idle), deque()
        await asyncio.gather(*(e.aclose("worker shutting down") for e in idle), return_exceptions=True)

    # -- internals --------------------------------------------------------------------------

    def _pop_idle(self) -> JobExecutor | None:
        while self._idle:
            executor = self._idle.popleft()
            if executor.alive:
                return executor
            logger.warning("an idle job process (%s) died; discarding it", executor.id)
        return None

    def _refill(self) -> None:
        if self._closed:
            return
        missing = self._num_idle - len(self._idle) - len(self._warming)
        for _ in range(missing):
            self._spawn()

    def _spawn(self) -> None:
        task = asyncio.create_task(self._warm(self._create()))
        self._warming.add(task)

    async def _warm(self, executor: JobExecutor) -> None:
        ok = False
        try:
            async with self._init_sem:
                if self._closed:
                    return
                await executor.start()
            ok = True
        except asyncio.CancelledError:
            raise
        except Exception as e:
            logger.error("could not start a job process: %s", e)
            self._failures += 1
            self._last_error = e
        finally:
            task = asyncio.current_task()
            if task is not None:
                self._warming.discard(task)  # type: ignore[arg-type]
            if ok and not self._closed:
                self._idle.append(executor)
            else:
                with contextlib.suppress(Exception):
                    await asyncio.shield(executor.aclose("worker shutting down"))
            async with self._changed:
                self._changed.notify_all()
