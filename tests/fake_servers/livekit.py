"""A fake LiveKit server for worker tests: the agent protocol on ``ws://127.0.0.1:<port>/agent``.

It speaks the real protocol (``livekit.protocol.agent`` protobuf messages in binary websocket
frames): it checks the ``Authorization: Bearer`` JWT against its key and secret (and the ``agent``
video grant), requires ``register`` as the first message and answers it with a worker id. Tests
then drive it:

* ``dispatch(room=..., metadata=...)`` offers a job to a registered worker (``AvailabilityRequest``),
  waits for the answer and, when the worker accepted, assigns it (``JobAssignment`` with a room
  token); the returned :class:`FakeJob` collects the ``UpdateJobStatus`` reports;
* ``terminate(job)`` sends ``JobTermination``; ``WorkerConn.drop()`` cuts a worker's connection;
* every ``UpdateWorkerStatus`` and ``MigrateJobRequest`` is recorded on the worker's
  :class:`WorkerConn`; protocol mistakes are listed in ``violations``.

Everything a test waits for goes through ``wait_until(predicate)``: no sleeping.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from livekit import api
from livekit.protocol import agent as agent_pb
from livekit.protocol import models

__all__ = ["API_KEY", "API_SECRET", "FakeJob", "FakeLiveKitServer", "WorkerConn"]

API_KEY = "APItestkey"
#: HS256 wants at least 32 bytes of key
API_SECRET = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass
class WorkerConn:
    """One registered worker connection, and everything it sent after registering."""

    id: str
    register: agent_pb.RegisterWorkerRequest
    ws: web.WebSocketResponse
    transport: Any
    worker_statuses: list[agent_pb.UpdateWorkerStatus] = field(default_factory=list)
    migrations: list[agent_pb.MigrateJobRequest] = field(default_factory=list)
    messages: list[agent_pb.WorkerMessage] = field(default_factory=list)
    closed: bool = False

    async def send(self, msg: agent_pb.ServerMessage) -> None:
        await self.ws.send_bytes(msg.SerializeToString())

    def drop(self) -> None:
        """Cut the TCP connection without a websocket close handshake."""
        if self.transport is not None:
            self.transport.abort()


@dataclass
class FakeJob:
    job: agent_pb.Job
    worker: WorkerConn
    availability: agent_pb.AvailabilityResponse | None = None
    assigned: bool = False
    statuses: list[agent_pb.UpdateJobStatus] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.job.id

    @property
    def status(self) -> int | None:
        return self.statuses[-1].status if self.statuses else None


class FakeLiveKitServer:
    def __init__(self, *, api_key: str = API_KEY, api_secret: str = API_SECRET) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.workers: list[WorkerConn] = []
        self.jobs: dict[str, FakeJob] = {}
        self.violations: list[str] = []
        #: connection attempts refused for bad credentials
        self.rejected_auth = 0
        self._changed = asyncio.Condition()
        self._pending: dict[str, asyncio.Future[agent_pb.AvailabilityResponse]] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> FakeLiveKitServer:
        app = web.Application()
        app.router.add_get("/agent", self._on_agent)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()
        return self

    async def aclose(self) -> None:
        for w in self.workers:
            if not w.closed:
                w.drop()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeLiveKitServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- what tests call ----------------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], Any], *, timeout: float = 30.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every message); return its value."""
        async def check() -> Any:
            async with self._changed:
                while True:
                    value = predicate()
                    if value:
                        return value
                    await self._changed.wait()

        return await asyncio.wait_for(check(), timeout)

    async def wait_for_worker(self, *, after: WorkerConn | None = None, timeout: float = 30.0) -> WorkerConn:
        """The first open worker registered after ``after`` (any open worker when None)."""
        def find() -> WorkerConn | None:
            start = self.workers.index(after) + 1 if after is not None else 0
            return next((w for w in self.workers[start:] if not w.closed), None)

        result: WorkerConn = await self.wait_until(find, timeout=timeout)
        return result

    async def dispatch(
        self,
        *,
        room: str = "test-room",
        metadata: str = "",
        agent_name: str = "",
        worker: WorkerConn | None = None,
        assign: bool = True,
        job_type: int = agent_pb.JT_ROOM,
        timeout: float = 30.0,
    ) -> FakeJob:
        """Offer a job to ``worker`` (default: the newest open one); assign it if accepted."""
        if worker is None:
            worker = await self.wait_for_worker(timeout=timeout)
        n = next(self._ids)
        job = agent_pb.Job(
            id=f"AJ_fake{n}", dispatch_id=f"AD_fake{n}", type=job_type,  # type: ignore[arg-type]
            room=models.Room(sid=f"RM_fake{n}", name=room), metadata=metadata, agent_name=agent_name,
        )
        fake = self.jobs[job.id] = FakeJob(job=job, worker=worker)
        fut: asyncio.Future[agent_pb.AvailabilityResponse] = asyncio.get_running_loop().create_future()
        self._pending[job.id] = fut
        await worker.send(agent_pb.ServerMessage(availability=agent_pb.AvailabilityRequest(job=job)))
        try:
            fake.availability = await asyncio.wait_for(fut, timeout)
        finally:
            self._pending.pop(job.id, None)
        if fake.availability.available and assign:
            token = (
                api.AccessToken(self.api_key, self.api_secret)
                .with_identity(fake.availability.participant_identity)
                .with_kind("agent")
                .with_grants(api.VideoGrants(room_join=True, room=room, agent=True))
                .to_jwt()
            )
            await worker.send(agent_pb.ServerMessage(
                assignment=agent_pb.JobAssignment(job=job, url=self.url, token=token)
            ))
            fake.assigned = True
        return fake

    async def terminate(self, job: FakeJob) -> None:
        await job.worker.send(agent_pb.ServerMessage(termination=agent_pb.JobTermination(job_id=job.id)))

    async def wait_job_status(self, job: FakeJob, *statuses: int, timeout: float = 30.0) -> agent_pb.UpdateJobStatus:
        """The first report of ``job`` with one of ``statuses``."""
        def find() -> agent_pb.UpdateJobStatus | None:
            return next((s for s in job.statuses if s.status in statuses), None)

        result: agent_pb.UpdateJobStatus = await self.wait_until(find, timeout=timeout)
        return result

    # -- the /agent endpoint ------------------------------------------------------------------

    async def _on_agent(self, request: web.Request) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return await self._refuse("missing bearer token")
        try:
            claims = api.TokenVerifier(self.api_key, self.api_secret).verify(header[len("Bearer "):])
        except Exception as e:
            return await self._refuse(f"invalid token: {e}")
        if claims.video is None or not claims.video.agent:
            return await self._refuse("the token lacks the agent grant")

        transport = request.transport
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        first = await ws.receive(timeout=10)
        msg = _parse(first)
        if msg is None or msg.WhichOneof("message") != "register":
            self.violations.append(f"first message is not register: {first.type.name}")
            await ws.close()
            return ws
        conn = WorkerConn(
            id=f"AW_fake{next(self._ids)}", register=msg.register, ws=ws, transport=transport
        )
        await conn.send(agent_pb.ServerMessage(register=agent_pb.RegisterWorkerResponse(
            worker_id=conn.id,
            server_info=models.ServerInfo(version="fake", region="local", node_id="fake-node"),
        )))
        await self._update(lambda: self.workers.append(conn))
        try:
            async for frame in ws:
                msg = _parse(frame)
                if msg is None:
                    self.violations.append(f"non-binary frame from {conn.id}: {frame.type.name}")
                    continue
                await self._update(lambda m=msg: self._record(conn, m))
        finally:
            await self._update(lambda: setattr(conn, "closed", True))
        return ws

    async def _refuse(self, why: str) -> web.Response:
        await self._update(lambda: setattr(self, "rejected_auth", self.rejected_auth + 1))
        return web.Response(status=401, text=why)

    def _record(self, conn: WorkerConn, msg: agent_pb.WorkerMessage) -> None:
        conn.messages.append(msg)
        kind = msg.WhichOneof("message")
        if kind == "update_worker":
            conn.worker_statuses.append(msg.update_worker)
        elif kind == "migrate_job":
            conn.migrations.append(msg.migrate_job)
        elif kind == "availability":
            fut = self._pending.get(msg.availability.job_id)
            if fut is None or fut.done():
                self.violations.append(f"unexpected availability answer for {msg.availability.job_id}")
            else:
                fut.set_result(msg.availability)
        elif kind == "update_job":
            job = self.jobs.get(msg.update_job.job_id)
            if job is None:
                self.violations.append(f"status for unknown job {msg.update_job.job_id}")
            else:
                job.statuses.append(msg.update_job)
        elif kind == "register":
            self.violations.append(f"{conn.id} registered twice on one connection")

    async def _update(self, change: Callable[[], Any]) -> None:
        async with self._changed:
            change()
            self._changed.notify_all()


def newer_field(message: Any, name: str, default: Any) -> Any:
    """``message.<name>``, or ``default`` with a ``livekit-protocol`` too old to have the field."""
    return getattr(message, name) if name in message.DESCRIPTOR.fields_by_name else default


def reports_draining(status: agent_pb.UpdateWorkerStatus) -> bool:
    """A status that says the worker is draining (only ``WS_FULL`` before the ``draining`` field)."""
    return bool(newer_field(status, "draining", True)) and status.status == agent_pb.WS_FULL


def _parse(frame: Any) -> agent_pb.WorkerMessage | None:
    if frame.type != WSMsgType.BINARY:
        return None
    msg = agent_pb.WorkerMessage()
    msg.ParseFromString(frame.data)
    return msg
