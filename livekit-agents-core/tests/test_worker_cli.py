"""``python agent.py start`` and ``dev`` as real processes against the fake LiveKit server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from fake_servers.livekit import (
    API_KEY,
    API_SECRET,
    FakeLiveKitServer,
    WorkerConn,
    reports_draining,
)
from livekit.protocol import agent as agent_pb

AGENT = '''
import asyncio
import json
import os

from livekit.agents import JobContext, WorkerOptions, cli

VERSION = "{version}"


async def entrypoint(ctx: JobContext) -> None:
    cfg = json.loads(ctx.job.metadata)
    with open(cfg["out"], "a") as f:
        f.write(json.dumps({{"version": VERSION, "pid": os.getpid(), "job_id": ctx.job.id}}) + "\\n")
    release = cfg.get("release")
    if release:
        while not os.path.exists(release):
            await asyncio.sleep(0.05)
    ctx.shutdown("done")


if __name__ == "__main__":
    # load_threshold=inf: these tests must not depend on how busy the machine running them is
    cli.run_app(WorkerOptions(entrypoint_fnc=entrypoint, port=0, num_idle_processes=1, max_retry=1,
                              load_threshold=float("inf")))
'''


class AgentProcess:
    """A running agent script; its stderr is collected as it arrives."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.stderr = ""
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.stderr += line.decode(errors="replace")

    async def wait(self, timeout: float = 60.0) -> int:
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await asyncio.wait_for(self._reader, timeout)
        return code

    async def wait_output(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.stderr:
            if time.monotonic() > deadline or self._reader.done():
                raise AssertionError(f"{text!r} never appeared in the output:\n{self.stderr}")
            await asyncio.sleep(0.05)

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


def _write_agent(path: Path, version: str) -> None:
    path.write_text(AGENT.format(version=version))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


async def _spawn(script: Path, *args: str) -> AgentProcess:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), *args, cwd=script.parent, env=_env(),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    return AgentProcess(proc)


async def _poll(predicate: Callable[[], Any], *, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def _records(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


@pytest.fixture
async def lk() -> AsyncIterator[FakeLiveKitServer]:
    async with FakeLiveKitServer() as server:
        yield server
        assert not server.violations


def _server_args(lk: FakeLiveKitServer, secret: str = API_SECRET) -> list[str]:
    return ["--url", lk.url, "--api-key", API_KEY, "--api-secret", secret]


async def test_start_without_credentials_names_the_variables(tmp_path: Path) -> None:
    script = tmp_path / "agent.py"
    _write_agent(script, "1")
    agent = await _spawn(script, "start")
    assert await agent.wait() == 1
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        assert name in agent.stderr


async def test_start_reads_the_server_and_credentials_from_dotenv(lk: FakeLiveKitServer, tmp_path: Path) -> None:
    script = tmp_path / "agent.py"
    _write_agent(script, "1")
    (tmp_path / ".env").write_text(
        f"LIVEKIT_URL={lk.url}\nLIVEKIT_API_KEY={API_KEY}\nLIVEKIT_API_SECRET={API_SECRET}\n"
    )
    agent = await _spawn(script, "start")
    try:
        conn = await lk.wait_for_worker(timeout=60)
        await agent.wait_output(f"registered worker {conn.id}")
        agent.proc.send_signal(signal.SIGTERM)
        assert await agent.wait() == 0
    finally:
        await agent.kill()


async def test_start_with_wrong_credentials_exits_non_zero(lk: FakeLiveKitServer, tmp_path: Path) -> None:
    script = tmp_path / "agent.py"
    _write_agent(script, "1")
    agent = await _spawn(script, "start", *_server_args(lk, secret="wrong-" + "s" * 40))
    try:
        assert await agent.wait() == 1
    finally:
        await agent.kill()
    assert "rejected the API key and secret" in agent.stderr
    assert "LIVEKIT_API_SECRET" in agent.stderr
    assert lk.rejected_auth == 2  # max_retry=1: the first attempt and one retry
    assert API_SECRET not in agent.stderr and "wrong-sss" not in agent.stderr


async def test_start_serves_jobs_and_drains_on_sigterm(lk: FakeLiveKitServer, tmp_path: Path) -> None:
    script = tmp_path / "agent.py"
    _write_agent(script, "1")
    out, release = tmp_path / "out.jsonl", tmp_path / "release"
    agent = await _spawn(script, "start", *_server_args(lk))
    try:
        conn = await lk.wait_for_worker(timeout=60)
        await agent.wait_output(f"registered worker {conn.id}")
        job = await lk.dispatch(metadata=json.dumps({"out": str(out), "release": str(release)}))
        await _poll(lambda: _records(out))

        agent.proc.send_signal(signal.SIGTERM)
        await lk.wait_until(lambda: any(reports_draining(s) for s in conn.worker_statuses), timeout=60)
        refused = await lk.dispatch(metadata=json.dumps({"out": str(tmp_path / "other.jsonl")}))
        assert refused.availability is not None and not refused.availability.available
        assert agent.proc.returncode is None  # still waiting for the running job

        release.touch()
        assert await agent.wait() == 0
    finally:
        await agent.kill()
    assert [s.status for s in job.statuses] == [agent_pb.JS_RUNNING, agent_pb.JS_SUCCESS]
    assert [r["version"] for r in _records(out)] == ["1"]


async def _run_job(lk: FakeLiveKitServer, worker: WorkerConn, out: Path) -> dict[str, Any]:
    before = len(_records(out))
    job = await lk.dispatch(worker=worker, metadata=json.dumps({"out": str(out)}))
    await lk.wait_job_status(job, agent_pb.JS_SUCCESS, timeout=60)
    records = await _poll(lambda: _records(out)[before:])
    result: dict[str, Any] = records[0]
    return result


@pytest.mark.slow
async def test_dev_reloads_the_worker_when_the_code_changes(lk: FakeLiveKitServer, tmp_path: Path) -> None:
    script = tmp_path / "agent.py"
    out = tmp_path / "out.jsonl"
    _write_agent(script, "1")
    dev = await _spawn(script, "dev", *_server_args(lk))
    try:
        first = await lk.wait_for_worker(timeout=60)
        assert (await _run_job(lk, first, out))["version"] == "1"

        _write_agent(script, "2")
        second = await lk.wait_for_worker(after=first, timeout=60)
        await lk.wait_until(lambda: first.closed, timeout=60)
        v2 = await _run_job(lk, second, out)
        assert v2["version"] == "2"

        script.write_text(AGENT.format(version="3") + "\ndef broken(:\n")
        await dev.wait_output("does not import", timeout=60)
        assert "SyntaxError" in dev.stderr
        assert not second.closed  # the previous code keeps serving
        assert (await _run_job(lk, second, out))["version"] == "2"

        dev.proc.send_signal(signal.SIGINT)
        assert await dev.wait() == 0
    finally:
        await dev.kill()
    await lk.wait_until(lambda: second.closed, timeout=30)
    assert len(lk.workers) == 2
