"""The job an agent runs: ``JobContext`` (the room, the process, shutdown) and job requests."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import os
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from ..log import logger

if TYPE_CHECKING:
    from livekit import rtc
    from livekit.protocol import agent as agent_pb

    from ..voice.agent_session import AgentSession

__all__ = [
    "AutoSubscribe",
    "JobContext",
    "JobExecutorType",
    "JobProcess",
    "JobRequest",
    "get_job_context",
]

_current: contextvars.ContextVar[JobContext | None] = contextvars.ContextVar("lk_job_context", default=None)


class AutoSubscribe(str, Enum):
    SUBSCRIBE_ALL = "subscribe_all"
    SUBSCRIBE_NONE = "subscribe_none"
    AUDIO_ONLY = "audio_only"
    VIDEO_ONLY = "video_only"


class JobExecutorType(Enum):
    PROCESS = "process"
    THREAD = "thread"


@dataclass
class JobProcess:
    """The process (or thread) a job runs in; ``userdata`` is filled by the prewarm function."""

    pid: int = field(default_factory=os.getpid)
    userdata: dict[str, Any] = field(default_factory=dict)
    executor_type: JobExecutorType = JobExecutorType.PROCESS
    user_arguments: Any = None


def get_job_context() -> JobContext:
    """The context of the job running in this task (raises outside a job)."""
    ctx = _current.get()
    if ctx is None:
        raise RuntimeError("no job context: this code is not running inside an agent job")
    return ctx


class JobContext:
    """What the entrypoint receives: the job, its room and its process."""

    def __init__(
        self,
        *,
        proc: JobProcess,
        job: agent_pb.Job,
        room: Any,
        url: str = "",
        token: str = "",
        worker_id: str = "",
        fake: bool = False,
    ) -> None:
        self._proc = proc
        self._job = job
        self._room = room
        self._url = url
        self._token = token
        self._worker_id = worker_id
        self._fake = fake
        self._connected = False
        self._connect_lock = asyncio.Lock()
        self._shutdown_cbs: list[Callable[..., Any]] = []
        self._shutdown_fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._sessions: list[AgentSession[Any]] = []
        self._token_var: contextvars.Token[JobContext | None] | None = None
        self._api: Any = None
        self._participant_entrypoints: list[Callable[[JobContext, Any], Awaitable[None]]] = []
        self._participant_tasks: dict[tuple[int, str], asyncio.Task[None]] = {}
        self._watching_participants = False
        self._shutdown_started = False

    # -- identity ---------------------------------------------------------------------------

    @property
    def job(self) -> agent_pb.Job:
        return self._job

    @property
    def room(self) -> rtc.Room:
        return self._room  # type: ignore[no-any-return]

    @property
    def proc(self) -> JobProcess:
        return self._proc

    @property
    def worker_id(self) -> str:
        return self._worker_id

    @property
    def agent(self) -> Any:
        """The agent's own participant in the room."""
        return self._room.local_participant

    @property
    def api(self) -> Any:
        """A ``livekit.api.LiveKitAPI`` client for the server this job runs on (rooms, SIP,
        egress...), built from ``LIVEKIT_URL`` / ``LIVEKIT_API_KEY`` / ``LIVEKIT_API_SECRET`` on
        first use and closed when the job ends."""
        if self._api is None:
            from livekit import api

            self._api = api.LiveKitAPI()
        return self._api

    def is_fake_job(self) -> bool:
        """True for console runs and simulated jobs (no LiveKit server behind the room)."""
        return self._fake

    # -- connection -------------------------------------------------------------------------

    async def connect(
        self,
        *,
        auto_subscribe: AutoSubscribe = AutoSubscribe.SUBSCRIBE_ALL,
        encryption: Any = None,
        rtc_config: Any = None,
    ) -> None:
        """Join the room (idempotent; the session calls it when it needs the room)."""
        async with self._connect_lock:
            if self._connected:
                return
            if not self._fake:
                from livekit import rtc

                options = rtc.RoomOptions(auto_subscribe=auto_subscribe == AutoSubscribe.SUBSCRIBE_ALL)
                if encryption is not None:
                    options.encryption = encryption
                if rtc_config is not None:
                    options.rtc_config = rtc_config
                await self._room.connect(self._url, self._token, options)
            self._connected = True

    async def wait_for_participant(self, *, identity: str | None = None, kind: Any = None) -> Any:
        """The first (or the named) remote participant; waits for one to join."""
        await self.connect()
        for p in self._room.remote_participants.values():
            if identity is None or p.identity == identity:
                return p
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def on_connected(p: Any) -> None:
            if not fut.done() and (identity is None or p.identity == identity):
                fut.set_result(p)

        self._room.on("participant_connected", on_connected)
        try:
            return await fut
        finally:
            self._room.off("participant_connected", on_connected)

    def add_participant_entrypoint(
        self, entrypoint: Callable[[JobContext, Any], Awaitable[None]]
    ) -> None:
        """Run ``await entrypoint(ctx, participant)`` for every remote participant in the room,
        those already there and those who join later (once per participant and entrypoint).
        The tasks are cancelled when the job ends."""
        if not callable(entrypoint):
            raise TypeError(f"a participant entrypoint must be an async function, got {entrypoint!r}")
        if self._shutdown_started:
            raise RuntimeError("the job is ending: no new participant entrypoints")
        if entrypoint in self._participant_entrypoints:
            raise ValueError(f"{entrypoint!r} is already a participant entrypoint")
        self._participant_entrypoints.append(entrypoint)
        if not self._watching_participants:
            self._watching_participants = True
            self._room.on("participant_connected", self._on_participant_connected)
        for participant in list(self._room.remote_participants.values()):
            self._start_participant_entrypoint(len(self._participant_entrypoints) - 1, participant)

    def _on_participant_connected(self, participant: Any) -> None:
        for index in range(len(self._participant_entrypoints)):
            self._start_participant_entrypoint(index, participant)

    def _start_participant_entrypoint(self, index: int, participant: Any) -> None:
        key = (index, participant.identity)
        if key in self._participant_tasks or self._shutdown_started:
            return
        entrypoint = self._participant_entrypoints[index]

        async def run() -> None:
            try:
                await entrypoint(self, participant)
            except Exception:
                logger.exception("participant entrypoint %r failed for %s",
                                 getattr(entrypoint, "__name__", entrypoint), participant.identity)

        self._participant_tasks[key] = asyncio.create_task(
            run(), name=f"participant_entrypoint:{participant.identity}"
        )

    # -- shutdown ---------------------------------------------------------------------------

    def add_shutdown_callback(self, callback: Callable[..., Awaitable[None]] | Callable[..., None]) -> None:
        """Run ``callback`` (optionally receiving the reason) when the job ends."""
        self._shutdown_cbs.append(callback)

    def shutdown(self, reason: str = "") -> None:
        """End the job: sessions close, shutdown callbacks run."""
        if not self._shutdown_fut.done():
            self._shutdown_fut.set_result(reason)

    async def wait_for_shutdown(self) -> str:
        return await asyncio.shield(self._shutdown_fut)

    async def _run_shutdown(self, reason: str) -> None:
        self._shutdown_started = True
        if self._watching_participants:
            self._watching_participants = False
            self._room.off("participant_connected", self._on_participant_connected)
        tasks = list(self._participant_tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for session in list(self._sessions):
            try:
                await session.aclose()
            except Exception:
                logger.exception("error closing a session at shutdown")
        for cb in self._shutdown_cbs:
            try:
                result = cb(reason) if _takes_arg(cb) else cb()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("error in a shutdown callback")
        if self._api is not None:
            try:
                await self._api.aclose()
            except Exception:
                logger.exception("error closing the server API client")
        if self._connected and not self._fake:
            try:
                await self._room.disconnect()
            except Exception:
                logger.exception("error leaving the room")

    def _register_session(self, session: AgentSession[Any]) -> None:
        self._sessions.append(session)

    def _enter(self) -> None:
        self._token_var = _current.set(self)

    # -- telephony ----------------------------------------------------------------------------

    async def add_sip_participant(
        self,
        *,
        call_to: str,
        trunk_id: str,
        participant_identity: str = "phone-callee",
        participant_name: str = "Phone",
        wait_until_answered: bool = True,
    ) -> Any:
        """Dial ``call_to`` into this job's room (see :func:`livekit.agents.sip.dial`)."""
        from ..sip import dial

        return await dial(
            room_name=self._room.name, to=call_to, trunk_id=trunk_id,
            participant_identity=participant_identity, participant_name=participant_name,
            wait_until_answered=wait_until_answered,
        )

    async def transfer_sip_participant(self, participant: Any, transfer_to: str) -> None:
        """Transfer a phone participant (object or identity) to another number."""
        from ..sip import transfer

        identity = participant if isinstance(participant, str) else participant.identity
        await transfer(room_name=self._room.name, participant_identity=identity, to=transfer_to)

    # -- room management --------------------------------------------------------------------

    async def delete_room(self) -> None:
        """Delete the room (ends the call for everyone)."""
        if self._fake:
            logger.warning("delete_room() does nothing in a simulated job")
            return
        from livekit import api

        await self.api.room.delete_room(api.DeleteRoomRequest(room=self._room.name))


def _takes_arg(cb: Callable[..., Any]) -> bool:
    try:
        params = [
            p for p in inspect.signature(cb).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        ]
    except (TypeError, ValueError):
        return False
    return bool(params)


class JobRequest:
    """A job offered to this worker; the request function accepts or rejects it."""

    def __init__(
        self,
        *,
        job: agent_pb.Job,
        on_accept: Callable[..., Coroutine[Any, Any, None]],
        on_reject: Callable[[bool], Coroutine[Any, Any, None]],
    ) -> None:
        self._job = job
        self._on_accept = on_accept
        self._on_reject = on_reject
        self._answered = False

    @property
    def id(self) -> str:
        return self._job.id

    @property
    def job(self) -> agent_pb.Job:
        return self._job

    @property
    def room(self) -> Any:
        return self._job.room

    @property
    def publisher(self) -> Any:
        return self._job.participant if self._job.HasField("participant") else None

    @property
    def agent_name(self) -> str:
        return self._job.agent_name

    @property
    def answered(self) -> bool:
        return self._answered

    async def accept(
        self,
        *,
        name: str = "",
        identity: str = "",
        metadata: str = "",
        attributes: dict[str, str] | None = None,
    ) -> None:
        if self._answered:
            raise RuntimeError("this job request was already answered")
        self._answered = True
        await self._on_accept(
            name=name, identity=identity or f"agent-{self.id}", metadata=metadata,
            attributes=dict(attributes or {}),
        )

    async def reject(self, *, terminate: bool = True) -> None:
        if self._answered:
            raise RuntimeError("this job request was already answered")
        self._answered = True
        await self._on_reject(terminate)
