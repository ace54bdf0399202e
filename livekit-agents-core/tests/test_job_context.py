"""JobContext helpers: participant entrypoints and the server API client."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from fake_servers.livekit_twirp import FakeLiveKitAPI
from livekit import api
from livekit.protocol import agent as agent_pb
from livekit.protocol import models

from livekit.agents import JobContext, JobProcess
from livekit.agents.utils.event_emitter import EventEmitter


class _Participant:
    def __init__(self, identity: str) -> None:
        self.identity = identity


class _Room(EventEmitter[str]):
    def __init__(self, *identities: str) -> None:
        super().__init__()
        self.name = "room-1"
        self.remote_participants = {i: _Participant(i) for i in identities}

    def join(self, identity: str) -> None:
        p = _Participant(identity)
        self.remote_participants[identity] = p
        self.emit("participant_connected", p)


def _ctx(room: _Room) -> JobContext:
    job = agent_pb.Job(id="AJ_1", room=models.Room(name=room.name))
    return JobContext(proc=JobProcess(), job=job, room=room, fake=True)


async def test_participant_entrypoints_run_once_per_participant() -> None:
    room = _Room("alice")
    ctx = _ctx(room)
    seen: list[tuple[str, str]] = []
    hold = asyncio.Event()

    async def greet(c: JobContext, p: Any) -> None:
        assert c is ctx
        seen.append(("greet", p.identity))

    async def watch(c: JobContext, p: Any) -> None:
        seen.append(("watch", p.identity))
        await hold.wait()  # runs until the job ends

    ctx.add_participant_entrypoint(greet)
    ctx.add_participant_entrypoint(watch)
    room.join("bob")
    room.emit("participant_connected", room.remote_participants["bob"])  # a duplicate event
    await asyncio.sleep(0)
    assert sorted(seen) == [("greet", "alice"), ("greet", "bob"), ("watch", "alice"), ("watch", "bob")]
    with pytest.raises(ValueError, match="already a participant entrypoint"):
        ctx.add_participant_entrypoint(greet)
    with pytest.raises(TypeError, match="async function"):
        ctx.add_participant_entrypoint("greet")  # type: ignore[arg-type]

    watchers = [t for t in ctx._participant_tasks.values() if not t.done()]
    assert len(watchers) == 2
    await ctx._run_shutdown("done")
    assert all(t.cancelled() for t in watchers)
    room.join("carol")  # after the job ended: nothing runs
    await asyncio.sleep(0)
    assert ("greet", "carol") not in seen
    assert not room.has_listeners("participant_connected")
    with pytest.raises(RuntimeError, match="the job is ending"):
        ctx.add_participant_entrypoint(watch)


async def test_a_failing_participant_entrypoint_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    room = _Room("alice")
    ctx = _ctx(room)

    async def broken(c: JobContext, p: Any) -> None:
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="livekit.agents"):
        ctx.add_participant_entrypoint(broken)
        await asyncio.gather(*ctx._participant_tasks.values())
    assert "participant entrypoint 'broken' failed for alice" in caplog.text
    await ctx._run_shutdown("done")


async def test_ctx_api_talks_to_the_server_and_closes_with_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeLiveKitAPI(api_secret="a-test-secret-that-is-long-enough-1234") as srv:
        monkeypatch.setenv("LIVEKIT_URL", srv.url)
        monkeypatch.setenv("LIVEKIT_API_KEY", "devkey")
        monkeypatch.setenv("LIVEKIT_API_SECRET", srv.api_secret)
        ctx = _ctx(_Room())
        client = ctx.api
        assert ctx.api is client
        await client.sip.transfer_sip_participant(api.TransferSIPParticipantRequest(
            room_name="room-1", participant_identity="caller", transfer_to="tel:+14155550100"))
        assert srv.requests[0][0] == "TransferSIPParticipant"
        await ctx._run_shutdown("done")
        assert client._session.closed
