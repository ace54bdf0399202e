"""Jobs in threads of the worker process, each with its own event loop (dense hosting).

Much cheaper than a process per job, but without isolation: a crash or a blocking call affects
the whole worker, memory cannot be limited per job, and a stuck job cannot be killed.
"""

from __future__ import annotations

import asyncio
import threading
import traceback
from typing import Any

from ..log import logger
from ._executor import ExecutorConfig, JobExecutor, JobResult, RunningJobInfo
from ._ipc import StartJob
from .job import JobExecutorType, JobProcess

__all__ = ["ThreadJobExecutor"]


class ThreadJobExecutor(JobExecutor):
    _counter = 0

    def __init__(self, config: ExecutorConfig) -> None:
        super().__init__()
        ThreadJobExecutor._counter += 1
        self._n = ThreadJobExecutor._counter
        self._config = config
        self._thread: threading.Thread | None = None
        self._parent_loop: asyncio.AbstractEventLoop | None = None
        self._ready: asyncio.Future[None] | None = None
        self._done: asyncio.Future[JobResult] | None = None
        # owned by the job thread's loop
        self._job_loop: asyncio.AbstractEventLoop | None = None
        self._start_fut: asyncio.Future[StartJob | None] | None = None
        self._stop_fut: asyncio.Future[str] | None = None
        self._stop_reason: str | None = None

    @property
    def id(self) -> str:
        return f"thread-{self._n}"

    @property
    def pid(self) -> int | None:
        return None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._done_set()

    async def start(self) -> None:
        loop = self._parent_loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._done = loop.create_future()
        self._thread = threading.Thread(target=self._main, name=f"job_thread_{self._n}", daemon=True)
        self._thread.start()
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), self._config.initialize_timeout)
        except asyncio.TimeoutError:
            self._post_stop("initialization timed out")
            raise RuntimeError(
                f"the job thread did not finish initializing within "
                f"{self._config.initialize_timeout:g} s (initialize_process_timeout)"
            )

    async def launch_job(self, info: RunningJobInfo) -> None:
        if self._job_loop is None or self._start_fut is None or not self.alive:
            raise RuntimeError("the job thread is not running")
        self.running_job = info
        start = StartJob(
            job=info.job.SerializeToString(), url=info.url, token=info.token,
            worker_id=info.worker_id, participant_name=info.participant_name,
            participant_identity=info.participant_identity,
            participant_metadata=info.participant_metadata,
            participant_attributes=dict(info.participant_attributes),
        )
        fut = self._start_fut
        self._job_loop.call_soon_threadsafe(_set_once, fut, start)

    async def wait(self) -> JobResult:
        assert self._done is not None
        return await asyncio.shield(self._done)

    async def aclose(self, reason: str = "worker shutting down") -> None:
        if self._done is None or self._done.done():
            return
        self._post_stop(reason)
        try:
            await asyncio.wait_for(asyncio.shield(self._done), self._config.shutdown_timeout)
        except asyncio.TimeoutError:
            job = self.running_job.job.id if self.running_job else "(idle)"
            logger.error(
                "job %s did not stop within %g s; a job thread cannot be killed and is abandoned",
                job, self._config.shutdown_timeout,
            )
            self._resolve(JobResult(error="the job did not stop in time"))

    # -- the job thread ---------------------------------------------------------------------

    def _main(self) -> None:
        proc = JobProcess(executor_type=JobExecutorType.THREAD, user_arguments=self._config.user_arguments)
        try:
            if self._config.prewarm is not None:
                self._config.prewarm(proc)
        except BaseException as e:
            logger.error("the prewarm function failed", exc_info=True)
            self._to_parent(self._fail_ready, RuntimeError(f"the prewarm function failed:\n{traceback.format_exc()}"))
            self._resolve(JobResult(error=f"prewarm failed: {e!r}"))
            return
        try:
            result = asyncio.run(self._job_main(proc))
        except BaseException as e:
            logger.exception("the job thread failed")
            result = JobResult(error=f"{type(e).__name__}: {e}")
        self._resolve(result)

    async def _job_main(self, proc: JobProcess) -> JobResult:
        from ._job_runner import run_job

        loop = self._job_loop = asyncio.get_running_loop()
        self._start_fut = loop.create_future()
        self._stop_fut = loop.create_future()
        if self._stop_reason is not None:
            self._stop_fut.set_result(self._stop_reason)
        self._to_parent(self._set_ready)
        waiting: set[asyncio.Future[Any]] = {self._start_fut, self._stop_fut}
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        start = self._start_fut.result() if self._start_fut in done else None
        if start is None:
            return JobResult()
        error = await run_job(entrypoint=self._config.entrypoint, proc=proc, start=start, stop=self._stop_fut)
        return JobResult(error=error)

    # -- cross-thread helpers -----------------------------------------------------------------

    def _post_stop(self, reason: str) -> None:
        self._stop_reason = reason  # seen by the job thread if its loop does not exist yet
        loop, fut = self._job_loop, self._stop_fut
        if loop is None or fut is None:
            return
        try:
            loop.call_soon_threadsafe(_set_once, fut, reason)
        except RuntimeError:
            pass  # the job loop already ended

    def _to_parent(self, fn: Any, *args: Any) -> None:
        if self._parent_loop is not None:
            try:
                self._parent_loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:
                pass

    def _set_ready(self) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)

    def _fail_ready(self, exc: BaseException) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(exc)

    def _resolve(self, result: JobResult) -> None:
        def set_result() -> None:
            if self._done is not None and not self._done.done():
                self._done.set_result(result)

        if self._parent_loop is None:
            return
        if _in_loop(self._parent_loop):
            set_result()
        else:
            self._to_parent(set_result)

    def _done_set(self) -> bool:
        return self._done is not None and self._done.done()


def _set_once(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
