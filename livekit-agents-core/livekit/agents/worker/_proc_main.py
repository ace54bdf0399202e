"""The main function of a job process.

It ignores SIGINT/SIGTERM (the worker decides when jobs end), forwards its log records to the
worker, runs the prewarm function once before any event loop exists, reports that it is ready,
then waits for one job, runs it and exits. If the worker goes away (its socket closes), the job
is shut down as if the worker had asked.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import signal
import socket
import sys
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any

from ._fnref import resolve
from ._ipc import (
    Initialized,
    JobDone,
    Shutdown,
    StartJob,
    encode,
    read_frame,
    recv_blocking,
    send_blocking,
    write_frame,
)
from .job import JobExecutorType, JobProcess

__all__ = ["ProcArgs", "main"]

logger = logging.getLogger("livekit.agents")


@dataclass
class ProcArgs:
    entrypoint: Any
    prewarm: Any
    user_arguments: Any
    #: environment the job should see (credentials), applied before anything runs
    env: dict[str, str] = field(default_factory=dict)
    #: the worker's root level and the levels it set on named loggers
    root_level: int = logging.INFO
    logger_levels: dict[str, int] = field(default_factory=dict)


def main(args: ProcArgs, ipc: socket.socket, log_sock: socket.socket) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    os.environ.update(args.env)
    forwarder = _install_log_forwarding(log_sock, args)
    proc = JobProcess(executor_type=JobExecutorType.PROCESS, user_arguments=args.user_arguments)
    try:
        prewarm = resolve(args.prewarm)
        if prewarm is not None:
            prewarm(proc)
    except BaseException:
        logger.error("the prewarm function failed", exc_info=True)
        _send_quietly(ipc, Initialized(pid=os.getpid(), error=traceback.format_exc()))
        return
    try:
        send_blocking(ipc, Initialized(pid=os.getpid()))
        first = recv_blocking(ipc)
    except (OSError, EOFError):
        return  # the worker went away before giving us a job
    if not isinstance(first, StartJob):
        return  # a shutdown request before any job
    asyncio.run(_run(args, proc, first, ipc, forwarder))
    _exit_if_threads_linger()


async def _run(
    args: ProcArgs, proc: JobProcess, start: StartJob, ipc: socket.socket, forwarder: _LogForwarder
) -> None:
    from livekit.protocol import agent as agent_pb

    from ._job_runner import run_job

    job = agent_pb.Job()
    job.ParseFromString(start.job)
    forwarder.fields = {"job_id": job.id, "room": job.room.name}
    ipc.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=ipc)
    stop: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def read_loop() -> None:
        try:
            while True:
                msg = await read_frame(reader)
                if isinstance(msg, Shutdown) and not stop.done():
                    stop.set_result(msg.reason or "worker requested")
        except (asyncio.IncompleteReadError, OSError):
            if not stop.done():
                stop.set_result("worker connection lost")

    reading = asyncio.create_task(read_loop())
    error: str | None
    try:
        entrypoint = resolve(args.entrypoint)
        assert entrypoint is not None
        error = await run_job(entrypoint=entrypoint, proc=proc, start=start, stop=stop)
    except Exception as e:
        logger.exception("the job failed to start")
        error = f"{type(e).__name__}: {e}"
    try:
        await write_frame(writer, JobDone(error=error))
        writer.close()
    except OSError:
        pass
    reading.cancel()


def _exit_if_threads_linger() -> None:
    lingering = [
        t for t in threading.enumerate()
        if t is not threading.main_thread() and t.is_alive() and not t.daemon
    ]
    if lingering:
        logger.warning(
            "the job left non-daemon threads running (%s); exiting anyway",
            ", ".join(t.name for t in lingering),
        )
        logging.shutdown()
        os._exit(0)


def _send_quietly(sock: socket.socket, msg: Any) -> None:
    try:
        send_blocking(sock, msg)
    except OSError:
        pass


class _LogForwarder(logging.Handler):
    """Sends each record to the worker, which logs it through its own handlers."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock
        self._lock_send = threading.Lock()
        self.fields: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            data = encode(_portable_record(record, self.fields))
            with self._lock_send:
                self._sock.sendall(data)
        except Exception:
            pass  # the worker is gone: nowhere left to log


def _portable_record(record: logging.LogRecord, fields: dict[str, str]) -> dict[str, Any]:
    d = dict(record.__dict__)
    d["msg"] = record.getMessage()
    d["args"] = None
    if record.exc_info:
        d["exc_text"] = logging.Formatter().formatException(record.exc_info)
    d["exc_info"] = None
    for key, value in list(d.items()):
        try:
            pickle.dumps(value)
        except Exception:
            d[key] = repr(value)
    for key, value in fields.items():
        d.setdefault(key, value)
    return d


def _install_log_forwarding(sock: socket.socket, args: ProcArgs) -> _LogForwarder:
    forwarder = _LogForwarder(sock)
    root = logging.getLogger()
    root.handlers[:] = [forwarder]
    root.setLevel(args.root_level)
    for name, level in args.logger_levels.items():
        logging.getLogger(name).setLevel(level)
    sys.excepthook = lambda *exc: logger.critical("uncaught exception in the job process", exc_info=exc)
    return forwarder
