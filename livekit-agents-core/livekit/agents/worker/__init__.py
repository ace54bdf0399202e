"""Running agents as jobs: the job context, worker options, and the worker itself."""

from typing import TYPE_CHECKING, Any

from ._executor import JobResult, RunningJobInfo
from .job import AutoSubscribe, JobContext, JobExecutorType, JobProcess, JobRequest, get_job_context
from .options import AgentServer, ServerType, WorkerOptions, WorkerPermissions, WorkerType

if TYPE_CHECKING:
    from .server import Worker, WorkerConnectionError

__all__ = [
    "AgentServer",
    "AutoSubscribe",
    "JobContext",
    "JobExecutorType",
    "JobProcess",
    "JobRequest",
    "JobResult",
    "RunningJobInfo",
    "ServerType",
    "Worker",
    "WorkerConnectionError",
    "WorkerOptions",
    "WorkerPermissions",
    "WorkerType",
    "get_job_context",
]


def __getattr__(name: str) -> Any:
    # the worker (aiohttp, protocol) loads only when a worker runs, not when a job context is used
    if name in ("Worker", "WorkerConnectionError"):
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
