"""How a worker is configured: ``WorkerOptions`` (the 1.x dataclass) and ``AgentServer``."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from .job import JobContext, JobExecutorType, JobProcess, JobRequest

if TYPE_CHECKING:
    pass

__all__ = ["AgentServer", "ServerType", "WorkerOptions", "WorkerPermissions", "WorkerType"]


class WorkerType(Enum):
    """A job per room, or a job per publishing participant."""

    ROOM = 0
    PUBLISHER = 1


ServerType = WorkerType


@dataclass
class WorkerPermissions:
    can_publish: bool = True
    can_subscribe: bool = True
    can_publish_data: bool = True
    can_update_metadata: bool = True
    can_publish_sources: list[Any] = field(default_factory=list)
    hidden: bool = False


Entrypoint = Callable[[JobContext], Awaitable[None]]


async def _default_request_fnc(request: JobRequest) -> None:
    await request.accept()


@dataclass
class WorkerOptions:
    """Everything ``cli.run_app`` needs to run an agent (the LiveKit Agents 1.x shape)."""

    entrypoint_fnc: Entrypoint
    request_fnc: Callable[[JobRequest], Awaitable[None]] = _default_request_fnc
    prewarm_fnc: Callable[[JobProcess], Any] | None = None
    agent_name: str = ""
    worker_type: WorkerType = WorkerType.ROOM
    permissions: WorkerPermissions = field(default_factory=WorkerPermissions)
    #: CPU load (0-1) above which the worker stops accepting jobs (production only)
    load_threshold: float = 0.7
    load_fnc: Callable[..., float] | None = None
    #: prewarmed idle processes kept ready for new jobs (production; 0 in dev)
    num_idle_processes: int = field(default_factory=lambda: min(os.cpu_count() or 1, 4))
    job_executor_type: JobExecutorType = JobExecutorType.PROCESS
    initialize_process_timeout: float = 10.0
    shutdown_process_timeout: float = 10.0
    drain_timeout: float = 1800.0
    job_memory_warn_mb: float = 1000.0
    job_memory_limit_mb: float = 0.0
    max_retry: int = 16
    ws_url: str = ""
    api_key: str = ""
    api_secret: str = ""
    host: str = ""
    port: int = 8081

    def __post_init__(self) -> None:
        if not callable(self.entrypoint_fnc):
            raise TypeError("entrypoint_fnc must be an async function taking a JobContext")
        if self.load_threshold <= 0:
            raise ValueError("load_threshold must be > 0")
        if self.num_idle_processes < 0:
            raise ValueError("num_idle_processes must be >= 0")
        self.read_environment()

    def read_environment(self) -> None:
        """Fill the server URL, credentials and agent name left empty from ``LIVEKIT_*``
        variables (the CLI calls it again once ``.env`` is loaded)."""
        self.ws_url = self.ws_url or os.environ.get("LIVEKIT_URL", "")
        self.api_key = self.api_key or os.environ.get("LIVEKIT_API_KEY", "")
        self.api_secret = self.api_secret or os.environ.get("LIVEKIT_API_SECRET", "")
        self.agent_name = os.environ.get("LIVEKIT_AGENT_NAME_OVERRIDE") or self.agent_name or os.environ.get(
            "LIVEKIT_AGENT_NAME", ""
        )


class AgentServer:
    """The newer 1.x shape: ``server = AgentServer()`` then ``@server.rtc_session()``."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._entrypoint: Entrypoint | None = None
        self._setup_fnc: Callable[[JobProcess], Any] | None = options.pop("setup_fnc", None)

    def rtc_session(
        self,
        *,
        agent_name: str = "",
        type: WorkerType = WorkerType.ROOM,
        on_request: Callable[[JobRequest], Awaitable[None]] | None = None,
    ) -> Callable[[Entrypoint], Entrypoint]:
        def decorator(fn: Entrypoint) -> Entrypoint:
            if self._entrypoint is not None:
                raise RuntimeError("an AgentServer has a single rtc_session entrypoint")
            self._entrypoint = fn
            self._options.update(agent_name=agent_name, worker_type=type)
            if on_request is not None:
                self._options["request_fnc"] = on_request
            return fn

        return decorator

    @property
    def setup_fnc(self) -> Callable[[JobProcess], Any] | None:
        return self._setup_fnc

    @setup_fnc.setter
    def setup_fnc(self, fn: Callable[[JobProcess], Any] | None) -> None:
        self._setup_fnc = fn

    def to_options(self) -> WorkerOptions:
        if self._entrypoint is None:
            raise RuntimeError("the AgentServer has no entrypoint: decorate one with @server.rtc_session()")
        opts = dict(self._options)
        if self._setup_fnc is not None:
            opts["prewarm_fnc"] = self._setup_fnc
        return WorkerOptions(entrypoint_fnc=self._entrypoint, **opts)
