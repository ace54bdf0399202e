"""The worker against a fake LiveKit server speaking the agent protocol.

Jobs run the module-level ``entrypoint`` below in real job processes; it never joins a room (it
does not call ``ctx.connect()``) and records what it sees as JSON lines in the file named by the
job's dispatch metadata, which tests poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fake_servers.livekit import (
    API_KEY,
    API_SECRET,
    FakeJob,
    FakeLiveKitServer,
    newer_field,
    reports_draining,
)
from livekit.protocol import agent as agent_pb

from livekit.agents import (
    JobContext,
    JobExecutorType,
    JobProcess,
    JobRequest,
    WorkerOptions,
    get_job_context,
)
from livekit.agents.worker import Worker, WorkerConnectionError, _proc_executor

# -- what runs in the job processes (module level: sent to them by reference) --------------------


def prewarm(proc: JobProcess) -> None:
    proc.userdata["prewarmed_pid"] = os.getpid()
    proc.userdata["model"] = "loaded"


def _record(path: str, event: dict[str, Any]) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(event) + "\n")


async def entrypoint(ctx: JobContext) -> None:
    cfg = json.loads(ctx.job.metadata)
    out = cfg["out"]

    async def on_shutdown(reason: str) -> None:
        _record(out, {"event": "shutdown", "reason": reason, "current": get_job_context() is ctx})

    ctx.add_shutdown_callback(on_shutdown)
    _record(out, {
        "event": "started", "pid": os.getpid(), "userdata": ctx.proc.userdata,
        "executor": ctx.proc.executor_type.value, "job_id": ctx.job.id, "room": ctx.room.name,
        "worker_id": ctx.worker_id, "current": get_job_context() is ctx,
        "env_url": os.environ.get("LIVEKIT_URL", ""),
    })
    action = cfg.get("action", "shutdown")
    if action == "shutdown":
        ctx.shutdown("done")
    elif action == "raise":
        raise RuntimeError("the entrypoint failed on purpose")
    elif action == "exit":
        os._exit(3)
    elif action == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif action == "wait_file":
        while not os.path.exists(cfg["release"]):
            await asyncio.sleep(0.05)
        ctx.shutdown("released")
    # "wait": the job stays alive until the worker or the server ends it


_LOAD = {"value": 0.1}


def load_fnc() -> float:
    return _LOAD["value"]


# -- helpers ------------------------------------------------------------------------------------


@pytest.fixture
async def lk() -> AsyncIterator[FakeLiveKitServer]:
    async with FakeLiveKitServer() as server:
        yield server
        assert not server.violations


def _options(server: FakeLiveKitServer, **overrides: Any) -> WorkerOptions:
    values: dict[str, Any] = dict(
        entrypoint_fnc=entrypoint, prewarm_fnc=prewarm, ws_url=server.url, api_key=API_KEY,
        api_secret=API_SECRET, host="127.0.0.1", port=0, num_idle_processes=1,
        shutdown_process_timeout=15.0, initialize_process_timeout=30.0,
        # the host's CPU load (other test runs) must not make the worker refuse jobs
        load_fnc=load_fnc,
    )
    values.update(overrides)
    return WorkerOptions(**values)


@contextlib.asynccontextmanager
async def running_worker(server: FakeLiveKitServer, *, dev: bool = False, **overrides: Any) -> AsyncIterator[Worker]:
    worker = Worker(_options(server, **overrides), dev=dev)
    task = asyncio.create_task(worker.run())
    try:
        await server.wait_for_worker()
        yield worker
    finally:
        await worker.aclose()
        await task


def _job_meta(out: Path, action: str = "shutdown", **extra: Any) -> str:
    return json.dumps({"out": str(out), "action": action, **extra})


def _events(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


async def _poll(predicate: Callable[[], Any], *, timeout: float = 30.0) -> Any:
    """Poll something outside the fake server (a file, the worker) until it holds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def _wait_event(out: Path, name: str) -> dict[str, Any]:
    found: dict[str, Any] = await _poll(
        lambda: next((e for e in _events(out) if e["event"] == name), None)
    )
    return found


def _statuses(job: FakeJob) -> list[int]:
    return [s.status for s in job.statuses]


# -- registration -------------------------------------------------------------------------------


async def test_registers_with_agent_name_and_serves_health(lk: FakeLiveKitServer) -> None:
    async with running_worker(lk, agent_name="my-agent", num_idle_processes=0) as worker:
        conn = await lk.wait_for_worker()
        reg = conn.register
        assert reg.agent_name == "my-agent"
        assert reg.type == agent_pb.JT_ROOM
        assert reg.version
        assert reg.allowed_permissions.agent
        assert reg.allowed_permissions.can_publish and reg.allowed_permissions.can_subscribe
        assert await worker.wait_registered() == conn.id
        assert lk.rejected_auth == 0

        async with aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{worker.health_port}"
            async with http.get(base + "/") as r:
                assert r.status == 200 and await r.text() == "OK"
            async with http.get(base + "/worker") as r:
                info = await r.json()
        assert info["agent_name"] == "my-agent"
        assert info["worker_id"] == conn.id
        assert info["worker_type"] == "JT_ROOM"
        assert info["active_jobs"] == 0

        # the first status report arrives right after registering
        status = await lk.wait_until(lambda: conn.worker_statuses and conn.worker_statuses[0])
        assert status.status == agent_pb.WS_AVAILABLE and status.job_count == 0


# -- jobs ---------------------------------------------------------------------------------------


async def test_job_runs_in_a_prewarmed_process(lk: FakeLiveKitServer, tmp_path: Path) -> None:
    out = tmp_path / "job.jsonl"
    async with running_worker(lk, agent_name="my-agent") as worker:
        await _poll(lambda: worker.idle_processes == 1)
        job = await lk.dispatch(room="support-room", metadata=_job_meta(out), agent_name="my-agent")

        assert job.availability is not None and job.availability.available
        assert job.availability.participant_identity == f"agent-{job.id}"
        assert job.availability.participant_attributes["lk.agent.name"] == "my-agent"
        await lk.wait_job_status(job, agent_pb.JS_SUCCESS)
        assert _statuses(job) == [agent_pb.JS_RUNNING, agent_pb.JS_SUCCESS]

        started = await _wait_event(out, "started")
        assert started["pid"] != os.getpid()
        assert started["userdata"] == {"prewarmed_pid": started["pid"], "model": "loaded"}
        assert started["executor"] == "process"
        assert started["job_id"] == job.id
        assert started["room"] == "support-room"
        assert started["worker_id"] == worker.id
        assert started["current"] is True
        assert started["env_url"] == lk.url
        shutdown = await _wait_event(out, "shutdown")
        assert shutdown == {"event": "shutdown", "reason": "done", "current": True}
        # the process ran one job and is gone; a new one is warmed for the next job
        await _poll(lambda: worker.idle_processes == 1 and not worker.active_jobs)


async def test_request_fnc_accept_with_custom_participant(lk: FakeLiveKitServer, tmp_path: Path) -> None:
    async def request_fnc(req: JobRequest) -> None:
        assert req.room.name == "r1" and req.agent_name == ""
        await req.accept(name="Helper", identity="helper-1", metadata="m", attributes={"role": "support"})

    out = tmp_path / "job.jsonl"
    async with running_worker(lk, request_fnc=request_fnc, num_idle_processes=0):
        job = await lk.dispatch(room="r1", metadata=_job_meta(out))
        assert job.availability is not None
        assert job.availability.available
        assert job.availability.participant_name == "Helper"
        assert job.availability.participant_identity == "helper-1"
        assert job.availability.participant_metadata == "m"
        assert dict(job.availability.participant_attributes) == {"role": "support", "lk.agent.name": ""}
        await lk.wait_job_status(job, agent_pb.JS_SUCCESS)


async def test_request_fnc_reject_and_auto_reject(lk: FakeLiveKitServer, tmp_path: Path) -> None:
    async def request_fnc(req: JobRequest) -> None:
        meta = json.loads(req.job.metadata)
        if meta["action"] == "reject":
            await req.reject()
        elif meta["action"] == "crash":
            raise RuntimeError("request function bug")
        # "ignore": return without answering

    out = tmp_path / "job.jsonl"
    async with running_worker(lk, request_fnc=request_fnc, num_idle_processes=0):
        rejected = await lk.dispatch(metadata=_job_meta(out, "reject"))
        ignored = await lk.dispatch(metadata=_job_meta(out, "ignore"))
        crashed = await lk.dispatch(metadata=_job_meta(out, "crash"))
        for job in (rejected, ignored, crashed):
            assert job.availability is not None
            assert not job.availability.available
            assert not job.assigned
        assert newer_field(rejected.availability, "terminate", True)
        assert not newer_field(ignored.availability, "terminate", False)
        assert not newer_field(crashed.availability, "terminate", False)
    assert not out.exists()
    assert all(not j.statuses for j in lk.jobs.values())


async def test_entrypoint_raising_fails_the_job(lk: FakeLiveKitServer, tmp_path: Path) -> None:
    out = tmp_path / "job.jsonl"
    async with running_worker(lk):
        job = await lk.dispatch(metadata=_job_meta(out, "raise"))
        failed = await lk.wait_job_status(job, agent_pb.JS_FAILED)
        assert "the entrypoint failed on purpose" in failed.error
        assert _statuses(job) == [agent_pb.JS_RUNNING, agent_pb.JS_FAILED]
        assert (await _wait_event(out, "shutdown"))["reason"] == "job crashed"


@pytest.mark.parametrize("action", ["exit", "segv"])
async def test_crashing_job_process_fails_one_job_only(
    lk: FakeLiveKitServer, tmp_path: Path, action: str
) -> None:
    async with running_worker(lk) as worker:
        crashed = await lk.dispatch(metadata=_job_meta(tmp_path / "a.jsonl", action))
        failed = await lk.wait_job_status(crashed, agent_pb.JS_FAILED)
        assert "exited unexpectedly" in failed.error
        assert not worker.active_jobs

        out = tmp_path / "b.jsonl"
        ok = await lk.dispatch(metadata=_job_meta(out))
        await lk.wait_job_status(ok, agent_pb.JS_SUCCESS)
        assert (await _wait_event(out, "shutdown"))["reason"] == "done"


async def test_termination_stops_the_job_and_runs_shutdown_callbacks(
    lk: FakeLiveKitServer, tmp_path: Path
) -> None:
    out = tmp_path / "job.jsonl"
    async with running_worker(lk) as worker:
        job = await lk.dispatch(metadata=_job_meta(out, "wait"))
        await lk.wait_job_status(job, agent_pb.JS_RUNNING)
        await _wait_event(out, "started")
        assert [j.job.id for j in worker.active_jobs] == [job.id]

        await lk.terminate(job)
        await lk.wait_job_status(job, agent_pb.JS_SUCCESS)
        shutdown = await _wait_event(out, "shutdown")
        assert shutdown["reason"] == "terminated by the server"
        assert shutdown["current"] is True


async def test_prewarm_failure_fails_the_job(lk: FakeLiveKitServer, tmp_path: Path) -> None:
    async with running_worker(lk, prewarm_fnc=failing_prewarm, num_idle_processes=0):
        job = await lk.dispatch(metadata=_job_meta(tmp_path / "job.jsonl"))
        failed = await lk.wait_job_status(job, agent_pb.JS_FAILED)
        assert "prewarm" in failed.error and "no model here" in failed.error


def failing_prewarm(proc: JobProcess) -> None:
    raise RuntimeError("no model here")


async def test_memory_limit_kills_the_job(
    lk: FakeLiveKitServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_proc_executor, "MEMORY_CHECK_INTERVAL", 0.1)
    async with running_worker(lk, job_memory_limit_mb=1, num_idle_processes=0):
        job = await lk.dispatch(metadata=_job_meta(tmp_path / "job.jsonl", "wait"))
        failed = await lk.wait_job_status(job, agent_pb.JS_FAILED)
        assert "memory limit exceeded" in failed.error


async def test_local_entrypoint_is_refused_for_process_jobs(lk: FakeLiveKitServer) -> None:
    async def local_entrypoint(ctx: JobContext) -> None:
        pass

    worker = Worker(_options(lk, entrypoint_fnc=local_entrypoint))
    with pytest.raises(ValueError, match="module level"):
        await worker.run()


async def test_assignment_timeout_drops_the_job(
    lk: FakeLiveKitServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Worker, "assignment_timeout", 0.2)
    out = tmp_path / "job.jsonl"
    async with running_worker(lk, num_idle_processes=0) as worker:
        job = await lk.dispatch(metadata=_job_meta(out), assign=False)
        assert job.availability is not None and job.availability.available
        # the worker gives up on it; the next job is served normally
        ok = await lk.dispatch(metadata=_job_meta(out))
        await lk.wait_job_status(ok, agent_pb.JS_SUCCESS)
        assert not job.statuses
        assert not worker.active_jobs


# -- connection ---------------------------------------------------------------------------------


async def test_reconnects_and_keeps_jobs_running(lk: FakeLiveKitServer, tmp_path: Path) -> None:
    out = tmp_path / "job.jsonl"
    async with running_worker(lk) as worker:
        first = await lk.wait_for_worker()
        job = await lk.dispatch(metadata=_job_meta(out, "wait"))
        await _wait_event(out, "started")

        first.drop()
        second = await lk.wait_for_worker(after=first)
        migration = await lk.wait_until(lambda: second.migrations and second.migrations[0])
        assert list(migration.job_ids) == [job.id]
        assert [j.id for j in newer_field(migration, "jobs", [job])] == [job.id]
        assert worker.id == second.id
        assert [e["event"] for e in _events(out)] == ["started"]  # untouched by the reconnect

        # the job is still served through the new connection
        job.worker = second
        await lk.terminate(job)
        await lk.wait_job_status(job, agent_pb.JS_SUCCESS)
        assert (await _wait_event(out, "shutdown"))["reason"] == "terminated by the server"
        assert any(m.WhichOneof("message") == "update_job" for m in second.messages)


async def test_wrong_credentials_fail_after_retries(lk: FakeLiveKitServer) -> None:
    worker = Worker(_options(lk, api_secret="not-the-secret-" + "x" * 32, max_retry=1, num_idle_processes=0))
    with pytest.raises(WorkerConnectionError, match="rejected the API key and secret") as err:
        await worker.run()
    assert "after 2 attempts" in str(err.value)
    assert lk.rejected_auth == 2
    assert not lk.workers


async def test_unreachable_server_fails_after_retries() -> None:
    server = FakeLiveKitServer()
    await server.start()
    url = server.url
    await server.aclose()  # nothing listens there any more
    worker = Worker(WorkerOptions(
        entrypoint_fnc=entrypoint, ws_url=url, api_key=API_KEY, api_secret=API_SECRET,
        host="127.0.0.1", port=0, num_idle_processes=0, max_retry=0,
    ))
    with pytest.raises(WorkerConnectionError, match="cannot reach the server"):
        await worker.run()


# -- draining and load ----------------------------------------------------------------------------


async def test_drain_refuses_new_jobs_and_lets_running_ones_finish(
    lk: FakeLiveKitServer, tmp_path: Path
) -> None:
    out = tmp_path / "job.jsonl"
    release = tmp_path / "release"
    async with running_worker(lk) as worker:
        conn = await lk.wait_for_worker()
        job = await lk.dispatch(metadata=_job_meta(out, "wait_file", release=str(release)))
        await lk.wait_job_status(job, agent_pb.JS_RUNNING)

        draining = asyncio.create_task(worker.drain())
        await lk.wait_until(lambda: any(reports_draining(s) for s in conn.worker_statuses))
        refused = await lk.dispatch(metadata=_job_meta(tmp_path / "other.jsonl"))
        assert refused.availability is not None and not refused.availability.available
        assert not draining.done()

        release.touch()
        await asyncio.wait_for(draining, 30)
        await lk.wait_job_status(job, agent_pb.JS_SUCCESS)  # the status travels after the job ends
        assert _statuses(job) == [agent_pb.JS_RUNNING, agent_pb.JS_SUCCESS]
        assert (await _wait_event(out, "shutdown"))["reason"] == "released"


async def test_load_is_reported_and_a_full_worker_refuses_jobs(
    lk: FakeLiveKitServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Worker, "status_interval", 0.05)
    monkeypatch.setitem(_LOAD, "value", 0.2)
    async with running_worker(lk, load_fnc=load_fnc, load_threshold=0.5, num_idle_processes=0):
        conn = await lk.wait_for_worker()
        low = await lk.wait_until(lambda: next((s for s in conn.worker_statuses if s.load > 0.19), None))
        assert low.status == agent_pb.WS_AVAILABLE

        _LOAD["value"] = 0.9
        high = await lk.wait_until(lambda: next((s for s in conn.worker_statuses if s.load > 0.89), None))
        assert high.status == agent_pb.WS_FULL
        refused = await lk.dispatch(metadata=_job_meta(tmp_path / "job.jsonl"))
        assert refused.availability is not None and not refused.availability.available

        _LOAD["value"] = 0.3
        await lk.wait_until(lambda: conn.worker_statuses[-1].status == agent_pb.WS_AVAILABLE)
        job = await lk.dispatch(metadata=_job_meta(tmp_path / "job.jsonl"))
        await lk.wait_job_status(job, agent_pb.JS_SUCCESS)


async def test_dev_mode_has_no_load_limit(
    lk: FakeLiveKitServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Worker, "status_interval", 0.05)
    monkeypatch.setitem(_LOAD, "value", 0.99)
    async with running_worker(lk, dev=True, load_fnc=load_fnc, load_threshold=0.5) as worker:
        conn = await lk.wait_for_worker()
        status = await lk.wait_until(lambda: next((s for s in conn.worker_statuses if s.load > 0.9), None))
        assert status.status == agent_pb.WS_AVAILABLE
        assert worker.idle_processes == 0  # nothing prewarmed in dev
        job = await lk.dispatch(metadata=_job_meta(tmp_path / "job.jsonl"))
        await lk.wait_job_status(job, agent_pb.JS_SUCCESS)


# -- thread executor ------------------------------------------------------------------------------


async def test_thread_executor_runs_jobs_in_process(lk: FakeLiveKitServer, tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    def thread_prewarm(proc: JobProcess) -> None:
        proc.userdata["warm"] = True

    async def thread_entrypoint(ctx: JobContext) -> None:
        # a closure is fine here: nothing leaves the worker process
        ctx.add_shutdown_callback(lambda reason: seen.append({"shutdown": reason}))
        seen.append({
            "pid": os.getpid(), "executor": ctx.proc.executor_type, "userdata": dict(ctx.proc.userdata),
            "current": get_job_context() is ctx, "meta": ctx.job.metadata,
        })
        if ctx.job.metadata == "now":
            ctx.shutdown("finished")

    async with running_worker(
        lk, entrypoint_fnc=thread_entrypoint, prewarm_fnc=thread_prewarm,
        job_executor_type=JobExecutorType.THREAD,
    ):
        job = await lk.dispatch(metadata="now")
        await lk.wait_job_status(job, agent_pb.JS_SUCCESS)
        assert seen == [
            {"pid": os.getpid(), "executor": JobExecutorType.THREAD, "userdata": {"warm": True},
             "current": True, "meta": "now"},
            {"shutdown": "finished"},
        ]

        seen.clear()
        waiting = await lk.dispatch(metadata="wait")
        await lk.wait_job_status(waiting, agent_pb.JS_RUNNING)
        await lk.terminate(waiting)
        await lk.wait_job_status(waiting, agent_pb.JS_SUCCESS)
        assert seen[-1] == {"shutdown": "terminated by the server"}


async def test_closing_the_worker_stops_running_jobs(lk: FakeLiveKitServer, tmp_path: Path) -> None:
    out = tmp_path / "job.jsonl"
    worker = Worker(_options(lk))
    task = asyncio.create_task(worker.run())
    await lk.wait_for_worker()
    job = await lk.dispatch(metadata=_job_meta(out, "wait"))
    await lk.wait_job_status(job, agent_pb.JS_RUNNING)
    await worker.aclose()
    await task
    assert (await _wait_event(out, "shutdown"))["reason"] == "worker shutting down"
