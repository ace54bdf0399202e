"""The worker: registers with a LiveKit server over the agent protocol and runs the jobs it gets.

Protocol (protobuf ``livekit.protocol.agent`` messages in binary websocket frames on
``<ws_url>/agent``, authenticated with a JWT carrying the ``agent`` video grant):

* the worker sends ``register`` and the first server message must be the ``register`` answer;
* ``availability`` requests run the user's ``request_fnc``; an accepted job is launched when its
  ``assignment`` arrives (within 7.5 s);
* ``termination`` ends a job; the worker reports ``update_job`` (RUNNING, then SUCCESS/FAILED)
  and ``update_worker`` (load, job count, full or available) every 2.5 s;
* when the connection drops, the worker reconnects with a growing delay (0, 2, 4 ... 10 s) up to
  ``max_retry`` times, and re-reports its running jobs with ``migrate_job``. Jobs keep running.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import math
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import aiohttp

from .._exceptions import AssignmentTimeoutError
from ..log import logger
from ..utils.event_emitter import EventEmitter
from ..version import __version__
from ._executor import ExecutorConfig, JobExecutor, RunningJobInfo
from ._health import HealthServer
from ._load import CpuLoad, _cpu_count
from ._pool import ExecutorPool
from .job import JobExecutorType, JobRequest
from .options import WorkerOptions, WorkerType

if TYPE_CHECKING:
    from livekit.protocol import agent as agent_pb

__all__ = ["Worker", "WorkerConnectionError", "missing_credentials"]

WorkerEvent = Literal["worker_started", "worker_registered", "job_started", "job_ended"]


class WorkerConnectionError(RuntimeError):
    """The worker could not (re)connect to the LiveKit server within ``max_retry`` attempts."""


def missing_credentials(opts: WorkerOptions) -> list[str]:
    """The environment variables whose value is missing from ``opts``."""
    return [
        env for env, value in (
            ("LIVEKIT_URL", opts.ws_url), ("LIVEKIT_API_KEY", opts.api_key),
            ("LIVEKIT_API_SECRET", opts.api_secret),
        ) if not value
    ]


def agent_url(ws_url: str) -> str:
    """``https://host`` -> ``wss://host/agent`` (and http -> ws)."""
    url = ws_url.strip()
    if url.startswith("http://"):
        url = "ws://" + url[len("http://"):]
    elif url.startswith("https://"):
        url = "wss://" + url[len("https://"):]
    return url.rstrip("/") + "/agent"


@dataclass
class _ActiveJob:
    info: RunningJobInfo
    executor: JobExecutor | None = None
    task: asyncio.Task[None] | None = None


class Worker(EventEmitter[WorkerEvent]):
    """Registers with the LiveKit server and runs each assigned job in its own executor.

    ``await worker.run()`` until ``aclose()`` (or ``drain()`` then ``aclose()``); ``run()``
    raises :class:`WorkerConnectionError` when the server stays unreachable.
    """

    #: seconds between two ``update_worker`` status reports
    status_interval: float = 2.5
    #: how long an accepted job may wait for its assignment
    assignment_timeout: float = 7.5
    #: how long connecting and registering may take
    register_timeout: float = 10.0

    def __init__(self, opts: WorkerOptions, *, dev: bool = False) -> None:
        super().__init__()
        self._opts = opts
        self._dev = dev
        self._load_threshold = math.inf if dev else opts.load_threshold
        self._num_idle = 0 if dev else opts.num_idle_processes
        self._port = 0 if dev else opts.port
        self._worker_id = ""
        self._jobs: dict[str, _ActiveJob] = {}
        self._pending: dict[str, asyncio.Future[agent_pb.JobAssignment]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reserved = 0
        self._load = 0.0
        self._cpu_load = CpuLoad()
        self._draining = False
        self._closing = False
        self._started = False
        self._connection_failed = False
        self._outbox: deque[agent_pb.WorkerMessage] = deque()
        self._outbox_ready = asyncio.Event()
        self._outbox_drained = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse[bool] | None = None
        self._registered = asyncio.Event()
        self._closed = asyncio.Event()
        self._pool: ExecutorPool | None = None
        self._health: HealthServer | None = None
        self._http: aiohttp.ClientSession | None = None
        self._conn_task: asyncio.Task[None] | None = None

    # -- public state -------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The id the server gave at the last registration ("" before)."""
        return self._worker_id

    @property
    def active_jobs(self) -> list[RunningJobInfo]:
        return [j.info for j in self._jobs.values()]

    @property
    def idle_processes(self) -> int:
        return self._pool.idle_count if self._pool is not None else 0

    @property
    def draining(self) -> bool:
        return self._draining

    @property
    def health_port(self) -> int:
        return self._health.port if self._health is not None else 0

    async def wait_registered(self) -> str:
        await self._registered.wait()
        return self._worker_id

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until :meth:`aclose`; jobs are stopped before it returns or raises."""
        if self._started:
            raise RuntimeError("a Worker runs once")
        self._started = True
        missing = missing_credentials(self._opts)
        if missing:
            raise ValueError(
                "the worker needs the LiveKit server URL and API credentials; missing: "
                + ", ".join(missing) + " (set them or pass --url/--api-key/--api-secret)"
            )
        try:
            await self._start()
            self.emit("worker_started")
            self._conn_task = asyncio.create_task(self._connection_loop(), name="worker_connection")
            closed = asyncio.create_task(self._closed.wait())
            await asyncio.wait({self._conn_task, closed}, return_when=asyncio.FIRST_COMPLETED)
            closed.cancel()
            if self._conn_task.done() and not self._conn_task.cancelled():
                exc = self._conn_task.exception()
                if exc is not None:
                    self._connection_failed = True
                    raise exc
        finally:
            await self.aclose()

    async def drain(self, timeout: float | None = None) -> None:
        """Stop accepting jobs and wait for the running ones to end (``TimeoutError`` after ``timeout``)."""
        if not self._draining:
            self._draining = True
            logger.info("draining: accepting no new jobs; %d running", len(self._jobs))
            self._send_status()

        async def wait_jobs() -> None:
            while True:
                # requests being answered first: an accepted job still launches
                tasks = {t for t in self._tasks if t.get_name().startswith("request_")}
                tasks |= {j.task for j in self._jobs.values() if j.task is not None}
                if not tasks:
                    return
                await asyncio.wait(tasks)

        if timeout is None:
            await wait_jobs()
        else:
            await asyncio.wait_for(wait_jobs(), timeout)

    async def aclose(self) -> None:
        """Stop now: running jobs are asked to end (killed after ``shutdown_process_timeout``)."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        try:
            if self._pool is not None:
                await self._pool.aclose()
            for task in [t for t in self._tasks if t.get_name().startswith("request_")]:
                task.cancel()
            for fut in self._pending.values():
                fut.cancel()
            jobs = list(self._jobs.values())
            for j in jobs:
                if j.executor is None and j.task is not None:
                    j.task.cancel()
            await asyncio.gather(
                *(j.executor.aclose("worker shutting down") for j in jobs if j.executor is not None),
                return_exceptions=True,
            )
            pending = {j.task for j in jobs if j.task is not None}
            if pending:
                await asyncio.wait(pending)
            await self._flush_outbox(timeout=1.0)
            if self._conn_task is not None:
                self._conn_task.cancel()
                with contextlib.suppress(BaseException):
                    await self._conn_task
            if self._tasks:
                for task in self._tasks:
                    task.cancel()
                await asyncio.wait(set(self._tasks))
            if self._health is not None:
                await self._health.aclose()
            if self._http is not None:
                await self._http.close()
        finally:
            self._closed.set()

    async def _start(self) -> None:
        opts = self._opts
        executor_cls: Callable[[ExecutorConfig], JobExecutor]
        if opts.job_executor_type == JobExecutorType.THREAD:
            from ._thread_executor import ThreadJobExecutor

            executor_cls = ThreadJobExecutor
        else:
            from ._proc_executor import ProcessJobExecutor

            executor_cls = ProcessJobExecutor
        config = ExecutorConfig(
            entrypoint=opts.entrypoint_fnc,
            prewarm=opts.prewarm_fnc,
            initialize_timeout=opts.initialize_process_timeout,
            shutdown_timeout=opts.shutdown_process_timeout,
            memory_warn_mb=opts.job_memory_warn_mb,
            memory_limit_mb=opts.job_memory_limit_mb,
            env={
                "LIVEKIT_URL": opts.ws_url, "LIVEKIT_API_KEY": opts.api_key,
                "LIVEKIT_API_SECRET": opts.api_secret,
            },
        )
        if opts.job_executor_type == JobExecutorType.PROCESS:
            from ._fnref import portable

            # fail now, with a clear message, rather than in every job process
            portable(opts.entrypoint_fnc, what="the entrypoint")
            portable(opts.prewarm_fnc, what="the prewarm function")
        self._pool = ExecutorPool(
            lambda: executor_cls(config), num_idle=self._num_idle,
            max_concurrent_inits=min(_cpu_count(), 4),
        )
        self._http = aiohttp.ClientSession()
        self._health = HealthServer(
            host=opts.host, port=self._port, healthy=self._healthy, info=self._info
        )
        port = await self._health.start()
        logger.debug("health server listening on port %d", port)
        await self._pool.start(timeout=opts.initialize_process_timeout + 2)

    # -- connection ---------------------------------------------------------------------------

    async def _connection_loop(self) -> None:
        failures = 0
        while not self._closing:
            try:
                ws = await asyncio.wait_for(self._connect(), self.register_timeout)
            except Exception as e:
                if self._closing:
                    return
                reason = _describe_connect_error(e)
                if failures >= self._opts.max_retry:
                    raise WorkerConnectionError(
                        f"could not connect to the LiveKit server at {self._opts.ws_url} "
                        f"after {failures + 1} attempts: {reason}"
                    ) from e
                delay = min(failures * 2, 10)
                failures += 1
                logger.warning(
                    "could not connect to the LiveKit server (%s); retrying in %d s (%d/%d)",
                    reason, delay, failures, self._opts.max_retry,
                )
                await asyncio.sleep(delay)
                continue
            failures = 0
            try:
                await self._serve(ws)
            except Exception as e:
                if not self._closing:
                    logger.warning("lost the connection to the LiveKit server (%s); reconnecting", e)
            finally:
                self._ws = None
                with contextlib.suppress(Exception):
                    await ws.close()

    async def _connect(self) -> aiohttp.ClientWebSocketResponse[bool]:
        from livekit import api
        from livekit.protocol import agent as agent_pb
        from livekit.protocol import models

        assert self._http is not None
        opts = self._opts
        token = (
            api.AccessToken(opts.api_key, opts.api_secret)
            .with_grants(api.VideoGrants(agent=True))
            .to_jwt()
        )
        ws = await self._http.ws_connect(
            agent_url(opts.ws_url), headers={"Authorization": f"Bearer {token}"}, heartbeat=30.0
        )
        try:
            perms = opts.permissions
            register = agent_pb.RegisterWorkerRequest(
                type=agent_pb.JT_PUBLISHER if opts.worker_type == WorkerType.PUBLISHER else agent_pb.JT_ROOM,
                agent_name=opts.agent_name,
                version=__version__,
                allowed_permissions=models.ParticipantPermission(
                    can_publish=perms.can_publish,
                    can_subscribe=perms.can_subscribe,
                    can_publish_data=perms.can_publish_data,
                    can_update_metadata=perms.can_update_metadata,
                    can_publish_sources=cast(Any, [int(s) for s in perms.can_publish_sources]),
                    hidden=perms.hidden,
                    agent=True,
                ),
            )
            await ws.send_bytes(agent_pb.WorkerMessage(register=register).SerializeToString())
            msg = await ws.receive()
            if msg.type != aiohttp.WSMsgType.BINARY:
                raise ConnectionError(f"the server answered the registration with a {msg.type.name} frame")
            answer = agent_pb.ServerMessage()
            answer.ParseFromString(msg.data)
            if answer.WhichOneof("message") != "register":
                raise ConnectionError(
                    f"expected the registration answer first, got {answer.WhichOneof('message')!r}"
                )
        except BaseException:
            await ws.close()
            raise
        self._worker_id = answer.register.worker_id
        info = answer.register.server_info
        logger.info(
            "registered worker %s", self._worker_id,
            extra={"worker_id": self._worker_id, "url": opts.ws_url, "agent_name": opts.agent_name,
                   "region": info.region, "server_version": info.version},
        )
        self._registered.set()
        self.emit("worker_registered", self._worker_id, info)
        return ws

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
        from livekit.protocol import agent as agent_pb

        self._ws = ws
        if self._jobs:
            jobs = [j.info.job for j in self._jobs.values()]
            migrate = agent_pb.MigrateJobRequest(job_ids=[j.id for j in jobs])
            _set_newer_field(migrate, "jobs", jobs)
            await ws.send_bytes(agent_pb.WorkerMessage(migrate_job=migrate).SerializeToString())
            logger.info("re-reported %d running jobs to the server", len(jobs))
        # what was queued for the previous connection and is now stale
        self._outbox = deque(
            m for m in self._outbox if m.WhichOneof("message") not in ("update_worker", "availability")
        )
        self._outbox_ready.set()
        tasks = {
            asyncio.create_task(self._recv_loop(ws)),
            asyncio.create_task(self._send_loop(ws)),
            asyncio.create_task(self._status_loop()),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                t.result()
            raise ConnectionError(f"the server closed the connection (code {ws.close_code})")
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.wait(tasks)

    async def _recv_loop(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
        from livekit.protocol import agent as agent_pb

        async for frame in ws:
            if frame.type == aiohttp.WSMsgType.BINARY:
                msg = agent_pb.ServerMessage()
                msg.ParseFromString(frame.data)
                self._on_server_message(msg)
            elif frame.type == aiohttp.WSMsgType.TEXT:
                logger.warning("ignoring a text frame from the server: %.128s", frame.data)
            elif frame.type == aiohttp.WSMsgType.ERROR:
                raise ConnectionError(str(ws.exception()))

    async def _send_loop(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
        while True:
            await self._outbox_ready.wait()
            while self._outbox:
                await ws.send_bytes(self._outbox[0].SerializeToString())
                self._outbox.popleft()
            self._outbox_ready.clear()
            self._outbox_drained.set()

    async def _flush_outbox(self, *, timeout: float) -> None:
        """Give the send loop a moment to deliver the last job statuses before closing."""

        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._outbox_drained.wait(), timeout)

    async def _status_loop(self) -> None:
        while True:
            self._load = await self._measure_load()
            self._send_status()
            await asyncio.sleep(self.status_interval)

    def _send(self, msg: agent_pb.WorkerMessage) -> None:
        self._outbox.append(msg)
        self._outbox_drained.clear()
        self._outbox_ready.set()

    def _send_status(self) -> None:
        from livekit.protocol import agent as agent_pb

        full = self._draining or self._closing or (not self._dev and self._effective_load() >= self._load_threshold)
        status = agent_pb.UpdateWorkerStatus(
            status=agent_pb.WS_FULL if full else agent_pb.WS_AVAILABLE,
            load=self._load, job_count=len(self._jobs),
        )
        _set_newer_field(status, "draining", self._draining)
        self._send(agent_pb.WorkerMessage(update_worker=status))

    def _send_job_status(self, job_id: str, status: int, error: str = "") -> None:
        from livekit.protocol import agent as agent_pb

        self._send(agent_pb.WorkerMessage(update_job=agent_pb.UpdateJobStatus(
            job_id=job_id, status=status, error=error,  # type: ignore[arg-type]
        )))

    # -- load ---------------------------------------------------------------------------------

    async def _measure_load(self) -> float:
        fnc = self._opts.load_fnc
        try:
            if fnc is None:
                return float(await asyncio.to_thread(self._cpu_load))
            if _takes_arg(fnc):
                return float(await asyncio.to_thread(fnc, self))
            return float(await asyncio.to_thread(fnc))
        except Exception:
            logger.exception("the load function failed; keeping the last value")
            return self._load

    def _effective_load(self) -> float:
        """The load plus what the jobs being accepted will add."""
        if not self._reserved:
            return self._load
        running = len(self._jobs)
        per_job = self._load / running if running and self._load > 0 else 0.0
        return self._load + self._reserved * per_job

    def _is_available(self) -> bool:
        if self._draining or self._closing:
            return False
        return self._dev or self._effective_load() < self._load_threshold

    # -- server messages ----------------------------------------------------------------------

    def _on_server_message(self, msg: agent_pb.ServerMessage) -> None:
        kind = msg.WhichOneof("message")
        if kind == "availability":
            self._run_task(self._on_availability(msg.availability), name=f"request_{msg.availability.job.id}")
        elif kind == "assignment":
            job_id = msg.assignment.job.id
            fut = self._pending.get(job_id)
            if fut is None or fut.done():
                logger.warning("received an assignment for job %s, which is not awaited", job_id)
            else:
                fut.set_result(msg.assignment)
        elif kind == "termination":
            self._on_termination(msg.termination.job_id)
        elif kind == "register":
            logger.warning("ignoring an unexpected second registration answer")
        else:
            logger.debug("ignoring server message %r", kind)

    async def _on_availability(self, req: agent_pb.AvailabilityRequest) -> None:
        from livekit.protocol import agent as agent_pb

        job = agent_pb.Job()
        job.CopyFrom(req.job)
        if not self._is_available():
            self._send(agent_pb.WorkerMessage(availability=agent_pb.AvailabilityResponse(
                job_id=job.id, available=False)))
            return

        async def on_accept(*, name: str, identity: str, metadata: str, attributes: dict[str, str]) -> None:
            attrs = dict(attributes)
            attrs["lk.agent.name"] = self._opts.agent_name
            fut: asyncio.Future[agent_pb.JobAssignment] = asyncio.get_running_loop().create_future()
            self._pending[job.id] = fut
            self._send(agent_pb.WorkerMessage(availability=agent_pb.AvailabilityResponse(
                job_id=job.id, available=True, participant_name=name, participant_identity=identity,
                participant_metadata=metadata, participant_attributes=attrs,
            )))
            try:
                assignment = await asyncio.wait_for(fut, self.assignment_timeout)
            except asyncio.TimeoutError:
                raise AssignmentTimeoutError(
                    f"job {job.id} was accepted but the server sent no assignment within "
                    f"{self.assignment_timeout:g} s"
                ) from None
            finally:
                self._pending.pop(job.id, None)
            assigned = assignment.job if assignment.HasField("job") and assignment.job.id else job
            self._start_job(RunningJobInfo(
                job=assigned, url=assignment.url or self._opts.ws_url, token=assignment.token,
                worker_id=self._worker_id, participant_name=name, participant_identity=identity,
                participant_metadata=metadata, participant_attributes=attrs,
            ))

        async def on_reject(terminate: bool) -> None:
            response = agent_pb.AvailabilityResponse(job_id=job.id, available=False)
            _set_newer_field(response, "terminate", terminate)
            self._send(agent_pb.WorkerMessage(availability=response))

        request = JobRequest(job=job, on_accept=on_accept, on_reject=on_reject)
        self._reserved += 1
        try:
            await self._opts.request_fnc(request)
        except AssignmentTimeoutError as e:
            logger.warning("%s; dropping it", e)
        except Exception:
            logger.exception("the request function failed for job %s", job.id)
        finally:
            self._reserved -= 1
        if not request.answered:
            logger.warning(
                "the request function returned without accepting or rejecting job %s; rejecting it",
                job.id,
            )
            await on_reject(False)

    def _on_termination(self, job_id: str) -> None:
        active = self._jobs.get(job_id)
        if active is None:
            logger.warning("the server terminated job %s, which is not running here", job_id)
            return
        logger.info("the server terminated job %s", job_id)
        if active.executor is None:
            if active.task is not None:
                active.task.cancel()
            return
        self._run_task(active.executor.aclose("terminated by the server"), name=f"terminate_{job_id}")

    # -- jobs ---------------------------------------------------------------------------------

    def _start_job(self, info: RunningJobInfo) -> None:
        active = _ActiveJob(info=info)
        self._jobs[info.job.id] = active
        active.task = asyncio.create_task(self._job_lifecycle(active), name=f"job_{info.job.id}")

    async def _job_lifecycle(self, active: _ActiveJob) -> None:
        from livekit.protocol import agent as agent_pb

        job_id = active.info.job.id
        try:
            assert self._pool is not None
            try:
                active.executor = await self._pool.acquire()
                await active.executor.launch_job(active.info)
            except asyncio.CancelledError:
                self._send_job_status(job_id, agent_pb.JS_FAILED, "the job was cancelled before it started")
                if active.executor is not None:
                    await asyncio.shield(active.executor.aclose("cancelled"))
                raise
            except Exception as e:
                logger.error("could not start job %s: %s", job_id, e)
                self._send_job_status(job_id, agent_pb.JS_FAILED, f"could not start the job: {e}")
                if active.executor is not None:
                    await active.executor.aclose("launch failed")
                return
            logger.info(
                "job %s started in %s (room %r)", job_id, active.executor.id, active.info.job.room.name,
                extra={"job_id": job_id, "pid": active.executor.pid},
            )
            self._send_job_status(job_id, agent_pb.JS_RUNNING)
            self._send_status()
            self.emit("job_started", active.info)
            result = await active.executor.wait()
            if result.ok:
                logger.info("job %s ended", job_id, extra={"job_id": job_id})
                self._send_job_status(job_id, agent_pb.JS_SUCCESS)
            else:
                logger.error("job %s failed: %s", job_id, result.error, extra={"job_id": job_id})
                self._send_job_status(job_id, agent_pb.JS_FAILED, result.error or "")
            self.emit("job_ended", active.info, result)
        finally:
            self._jobs.pop(job_id, None)
            if not self._closing:
                self._send_status()

    def _run_task(self, coro: Any, *, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- health -------------------------------------------------------------------------------

    def _healthy(self) -> tuple[bool, str]:
        if self._connection_failed:
            return False, "the connection to the LiveKit server failed"
        return True, "OK"

    def _info(self) -> dict[str, Any]:
        return {
            "worker_id": self._worker_id,
            "agent_name": self._opts.agent_name,
            "worker_type": "JT_PUBLISHER" if self._opts.worker_type == WorkerType.PUBLISHER else "JT_ROOM",
            "active_jobs": len(self._jobs),
            "idle_processes": self.idle_processes,
            "worker_load": self._load,
            "draining": self._draining,
            "sdk_version": __version__,
            "protocol_version": 1,
            "pid": os.getpid(),
        }


def _describe_connect_error(e: BaseException) -> str:
    if isinstance(e, aiohttp.WSServerHandshakeError):
        if e.status in (401, 403):
            return (
                f"the server rejected the API key and secret (HTTP {e.status}); "
                "check LIVEKIT_API_KEY and LIVEKIT_API_SECRET"
            )
        return f"the websocket handshake failed (HTTP {e.status} {e.message})"
    if isinstance(e, asyncio.TimeoutError):
        return "timed out"
    if isinstance(e, aiohttp.ClientConnectorError):
        return f"cannot reach the server ({e.os_error or e})"
    return str(e) or type(e).__name__


def _takes_arg(fn: Callable[..., Any]) -> bool:
    try:
        return bool(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return False


def _set_newer_field(message: Any, name: str, value: Any) -> None:
    """Set a field that older ``livekit-protocol`` releases lack (then the server cannot read it
    either, and the message still carries what older servers use)."""
    if name not in message.DESCRIPTOR.fields_by_name:
        return
    current = getattr(message, name)
    if hasattr(current, "extend"):  # a repeated field
        current.extend(value)
    else:
        setattr(message, name, value)
