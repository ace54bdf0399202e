"""Running agents as jobs: the job context, worker options, and the worker itself."""

from .job import AutoSubscribe, JobContext, JobExecutorType, JobProcess, JobRequest, get_job_context
from .options import AgentServer, ServerType, WorkerOptions, WorkerPermissions, WorkerType

__all__ = [
    "AgentServer",
    "AutoSubscribe",
    "JobContext",
    "JobExecutorType",
    "JobProcess",
    "JobRequest",
    "ServerType",
    "WorkerOptions",
    "WorkerPermissions",
    "WorkerType",
    "get_job_context",
]
