"""Jobs in prewarmed child processes: a crash or a memory blow-up takes down one job only.

Processes start with ``forkserver`` on Linux (the server preloads the agent script once, so each
job process forks from a warm image and never re-reads the script; see ``_forkserver_main``) and ``spawn`` elsewhere. Each runs the prewarm function,
reports ready, runs exactly one job and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import socket
import sys
import threading
import time
from multiprocessing import spawn
from multiprocessing.context import BaseContext
from typing import Any

from ..log import logger
from . import _forkserver_main, _proc_main
from ._executor import ExecutorConfig, JobExecutor, JobResult, RunningJobInfo
from ._fnref import portable
from ._ipc import Initialized, JobDone, Shutdown, StartJob, read_frame, write_frame
from ._load import process_memory_mb

__all__ = ["JobProcessError", "ProcessJobExecutor", "mp_context"]

#: seconds between two memory samples of a running job
MEMORY_CHECK_INTERVAL = 5.0
#: a memory warning is repeated at most this often, unless usage grew by _WARN_GROWTH_MB
_WARN_EVERY = 120.0
_WARN_GROWTH_MB = 50.0
#: after the process exited, how long its last messages may take to arrive
_DRAIN_AFTER_EXIT = 2.0

_mp_ctx: BaseContext | None = None


class JobProcessError(RuntimeError):
    """A job process could not be started or prewarmed."""


def mp_context() -> BaseContext:
    """The multiprocessing context for job processes (created once per worker process)."""
    global _mp_ctx
    if _mp_ctx is None:
        if sys.platform.startswith("linux"):
            ctx = multiprocessing.get_context("forkserver")
            # imported once in the fork server, so every job process starts with them loaded
            main_path = spawn.get_preparation_data("job_proc").get("init_main_from_path")
            if main_path:
                os.environ[_forkserver_main.MAIN_PATH_ENV] = main_path
            plugins = sorted(m for m in sys.modules if m.startswith("livekit.plugins.") and m.count(".") == 2)
            ctx.set_forkserver_preload(
                ["livekit.agents", "livekit.rtc", *plugins, _forkserver_main.__name__]
            )
            _mp_ctx = ctx
        else:
            _mp_ctx = multiprocessing.get_context("spawn")
    return _mp_ctx


class ProcessJobExecutor(JobExecutor):
    _counter = 0

    def __init__(self, config: ExecutorConfig) -> None:
        super().__init__()
        ProcessJobExecutor._counter += 1
        self._n = ProcessJobExecutor._counter
        self._config = config
        self._proc: Any = None
        self._writer: asyncio.StreamWriter | None = None
        self._exited = asyncio.Event()
        self._done: JobDone | None = None
        self._kill_reason: str | None = None
        self._reading: asyncio.Task[None] | None = None
        self._logs: asyncio.Task[None] | None = None
        self._memory: asyncio.Task[None] | None = None

    @property
    def id(self) -> str:
        return f"proc-{self.pid or self._n}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and not self._exited.is_set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        cfg = self._config
        args = _proc_main.ProcArgs(
            entrypoint=portable(cfg.entrypoint, what="the entrypoint"),
            prewarm=portable(cfg.prewarm, what="the prewarm function"),
            user_arguments=cfg.user_arguments,
            env=dict(cfg.env),
            root_level=logging.getLogger().getEffectiveLevel(),
            logger_levels=_configured_levels(),
        )
        parent_ipc, child_ipc = socket.socketpair()
        parent_log, child_log = socket.socketpair()
        proc = mp_context().Process(  # type: ignore[attr-defined]
            target=_proc_main.main, args=(args, child_ipc, child_log), name="job_proc"
        )
        try:
            await loop.run_in_executor(None, proc.start)
            self._proc = proc
        except BaseException:
            for s in (parent_ipc, parent_log):
                s.close()
            raise
        finally:
            child_ipc.close()
            child_log.close()
        self._watch_exit(loop)
        parent_ipc.setblocking(False)
        parent_log.setblocking(False)
        reader, self._writer = await asyncio.open_connection(sock=parent_ipc)
        log_reader, log_writer = await asyncio.open_connection(sock=parent_log)
        self._logs = asyncio.create_task(_forward_logs(log_reader, log_writer))
        try:
            first = await asyncio.wait_for(read_frame(reader), cfg.initialize_timeout)
        except asyncio.TimeoutError:
            self._kill()
            raise JobProcessError(
                f"the job process did not finish initializing within {cfg.initialize_timeout:g} s "
                "(initialize_process_timeout)"
            )
        except (asyncio.IncompleteReadError, OSError):
            await self._exited.wait()
            raise JobProcessError(
                f"the job process exited while initializing (exit code {self._proc.exitcode})"
            )
        if not isinstance(first, Initialized) or first.error:
            self._kill()
            detail = first.error if isinstance(first, Initialized) else repr(first)
            raise JobProcessError(f"the prewarm function failed:\n{detail}")
        self._reading = asyncio.create_task(self._read_loop(reader))

    async def launch_job(self, info: RunningJobInfo) -> None:
        if self._writer is None or not self.alive:
            raise JobProcessError("the job process is not running")
        self.running_job = info
        await write_frame(self._writer, StartJob(
            job=info.job.SerializeToString(), url=info.url, token=info.token,
            worker_id=info.worker_id, participant_name=info.participant_name,
            participant_identity=info.participant_identity,
            participant_metadata=info.participant_metadata,
            participant_attributes=dict(info.participant_attributes),
        ))
        if self._config.memory_warn_mb > 0 or self._config.memory_limit_mb > 0:
            self._memory = asyncio.create_task(self._watch_memory())

    async def wait(self) -> JobResult:
        await self._exited.wait()
        pending = {t for t in (self._reading, self._logs) if t is not None}
        if pending:
            await asyncio.wait(pending, timeout=_DRAIN_AFTER_EXIT)
        if self._memory is not None:
            self._memory.cancel()
        if self._kill_reason is not None:
            return JobResult(error=self._kill_reason)
        if self._done is not None:
            return JobResult(error=self._done.error)
        code = self._proc.exitcode if self._proc is not None else None
        return JobResult(error=f"the job process exited unexpectedly (exit code {code})")

    async def aclose(self, reason: str = "worker shutting down") -> None:
        if not self.alive:
            return
        if self._writer is not None:
            with contextlib.suppress(OSError, RuntimeError):
                await write_frame(self._writer, Shutdown(reason=reason))
        try:
            await asyncio.wait_for(self._exited.wait(), self._config.shutdown_timeout)
        except asyncio.TimeoutError:
            job = self.running_job.job.id if self.running_job else "(idle)"
            logger.warning(
                "job %s did not stop within %g s (shutdown_process_timeout): killing its process",
                job, self._config.shutdown_timeout,
            )
            if self._kill_reason is None and self.running_job is not None:
                self._kill_reason = "the job did not stop in time and was killed"
            self._kill()
            await self._exited.wait()

    # -- internals --------------------------------------------------------------------------

    def _kill(self) -> None:
        if self._proc is not None and not self._exited.is_set():
            with contextlib.suppress(OSError, ValueError, AttributeError):
                self._proc.kill()

    def _watch_exit(self, loop: asyncio.AbstractEventLoop) -> None:
        sentinel = self._proc.sentinel

        def on_exit() -> None:
            with contextlib.suppress(Exception):
                loop.remove_reader(sentinel)
            self._proc.join(0)
            self._exited.set()

        try:
            loop.add_reader(sentinel, on_exit)
        except NotImplementedError:  # event loops without add_reader (Windows proactor)
            def join() -> None:
                self._proc.join()
                loop.call_soon_threadsafe(self._exited.set)

            threading.Thread(target=join, name="job_proc_join", daemon=True).start()

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                msg = await read_frame(reader)
                if isinstance(msg, JobDone):
                    self._done = msg
        except (asyncio.IncompleteReadError, OSError):
            pass
        finally:
            if self._writer is not None:
                self._writer.close()

    async def _watch_memory(self) -> None:
        cfg = self._config
        last_warn_at = -_WARN_EVERY
        last_warn_mb = 0.0
        while self.alive and self.pid is not None:
            await asyncio.sleep(MEMORY_CHECK_INTERVAL)
            used = process_memory_mb(self.pid)
            if used is None:
                continue
            job_id = self.running_job.job.id if self.running_job else "?"
            if cfg.memory_limit_mb > 0 and used > cfg.memory_limit_mb:
                logger.error(
                    "job %s uses %.0f MB, above job_memory_limit_mb=%g: killing its process",
                    job_id, used, cfg.memory_limit_mb,
                )
                self._kill_reason = (
                    f"memory limit exceeded ({used:.0f} MB > {cfg.memory_limit_mb:g} MB)"
                )
                self._kill()
                return
            if cfg.memory_warn_mb > 0 and used > cfg.memory_warn_mb:
                now = time.monotonic()
                if now - last_warn_at >= _WARN_EVERY or used - last_warn_mb >= _WARN_GROWTH_MB:
                    logger.warning(
                        "job %s uses %.0f MB (job_memory_warn_mb=%g)", job_id, used, cfg.memory_warn_mb
                    )
                    last_warn_at, last_warn_mb = now, used


async def _forward_logs(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Log each record a job process sent through the worker's own handlers."""
    try:
        while True:
            data = await read_frame(reader)
            record = logging.makeLogRecord(data)
            target = logging.getLogger(record.name)
            if target.isEnabledFor(record.levelno):
                target.handle(record)
    except (asyncio.IncompleteReadError, OSError):
        pass
    finally:
        writer.close()


def _configured_levels() -> dict[str, int]:
    levels: dict[str, int] = {}
    for name, lg in logging.root.manager.loggerDict.items():
        if isinstance(lg, logging.Logger) and lg.level != logging.NOTSET:
            levels[name] = lg.level
    return levels
