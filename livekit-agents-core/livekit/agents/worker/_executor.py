"""What the worker needs from a job executor (a prewarmed process or an in-process thread)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .job import JobProcess

if TYPE_CHECKING:
    from livekit.protocol import agent as agent_pb

__all__ = ["ExecutorConfig", "JobExecutor", "JobResult", "RunningJobInfo"]


@dataclass
class RunningJobInfo:
    """A job the worker accepted and launched."""

    job: agent_pb.Job
    url: str
    token: str
    worker_id: str
    participant_name: str = ""
    participant_identity: str = ""
    participant_metadata: str = ""
    participant_attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class JobResult:
    """How a job ended: ``error`` is None when it succeeded."""

    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ExecutorConfig:
    entrypoint: Callable[..., Any]
    prewarm: Callable[[JobProcess], Any] | None
    initialize_timeout: float
    shutdown_timeout: float
    memory_warn_mb: float
    memory_limit_mb: float
    user_arguments: Any = None
    #: environment handed to job processes (LIVEKIT_URL and credentials)
    env: dict[str, str] = field(default_factory=dict)


class JobExecutor(ABC):
    """Runs the prewarm function once, then exactly one job."""

    def __init__(self) -> None:
        self.running_job: RunningJobInfo | None = None

    @property
    @abstractmethod
    def id(self) -> str: ...

    @property
    @abstractmethod
    def pid(self) -> int | None: ...

    @property
    @abstractmethod
    def alive(self) -> bool:
        """False once the process or thread is gone (a dead idle executor is never given a job)."""

    @abstractmethod
    async def start(self) -> None:
        """Spawn and prewarm; raises when that fails or takes longer than the initialize timeout."""

    @abstractmethod
    async def launch_job(self, info: RunningJobInfo) -> None: ...

    @abstractmethod
    async def wait(self) -> JobResult:
        """Until the job has ended (or the executor died)."""

    @abstractmethod
    async def aclose(self, reason: str = "worker shutting down") -> None:
        """Ask the job to end, wait up to the shutdown timeout, then force it."""
