"""LLM-judged assertions, Ctrl+C in the console, and download-files."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from livekit.agents import Agent, AgentSession
from livekit.agents.cli.download import FileIntegrityError, Progress, download_files
from livekit.agents.testing import FakeLLM, FakeResponse, FakeToolCall


def _verdict(success: bool, reason: str) -> FakeResponse:
    return FakeResponse(tool_calls=[FakeToolCall("check_intent", {"success": success, "reason": reason})])


async def test_judge_passes_and_fails_with_the_reason() -> None:
    session = AgentSession(llm=FakeLLM(["It is sunny in Paris today."]))
    await session.start(Agent(instructions="x"))
    result = await session.run(user_input="weather in Paris?")
    msg = result.expect.next_event().is_message(role="assistant")

    judge = FakeLLM([_verdict(True, "mentions the weather"), _verdict(False, "does not mention Rome")])
    await msg.judge(judge, intent="tells the weather in Paris")
    assert judge.requests[0]["tool_choice"] == "required"
    sent = judge.requests[0]["chat_ctx"].messages()[-1].text_content
    assert "tells the weather in Paris" in sent and "It is sunny in Paris today." in sent

    with pytest.raises(AssertionError, match="Judgement failed: does not mention Rome"):
        await msg.judge(judge, intent="tells the weather in Rome")

    silent = FakeLLM(["I think it is fine"])
    with pytest.raises(AssertionError, match="the judge did not give a verdict"):
        await msg.judge(silent, intent="anything")
    await session.aclose()


AGENT = '''
import asyncio
from livekit.agents import Agent, AgentSession, JobContext, cli
from livekit.agents.testing import FakeLLM, FakeSTT, FakeTTS, FakeVAD

async def entrypoint(ctx: JobContext) -> None:
    closed = []
    ctx.add_shutdown_callback(lambda reason: print("shutdown callback ran", flush=True))
    session = AgentSession(llm=FakeLLM(["x"]), stt=FakeSTT(["hello"]), tts=FakeTTS(), vad=FakeVAD())
    session.on("close", lambda ev: print("session closed", flush=True))
    await session.start(agent=Agent(instructions="x"), room=ctx.room)
    print("ready", flush=True)

if __name__ == "__main__":
    cli.run_app(entrypoint)
'''


def test_ctrl_c_closes_the_console_cleanly(tmp_path: Path) -> None:
    import wave

    import numpy as np

    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    long_input = tmp_path / "long.wav"
    with wave.open(str(long_input), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.zeros(16000 * 30, np.int16).tobytes())
    transcript = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        [sys.executable, str(script), "console", "--input", str(long_input), "--output", str(tmp_path / "r.wav"),
         "--transcript", str(transcript)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "ready" in line:
            break
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "session closed" in out and "shutdown callback ran" in out
    assert (tmp_path / "r.wav").exists()
    records = transcript.read_text().splitlines()
    assert records and '"type": "close"' in records[-1]


def test_download_files_runs_each_plugin_hook_and_reports_failures(
    make_dist: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    make_dist(
        "lk-downloads",
        entry_points={"livekit.agents.download": {"good": "lkt_dl:good", "bad": "lkt_dl:bad"}},
        modules={"lkt_dl.py": (
            "calls = []\n"
            "def good(progress):\n"
            "    with progress.file('model.bin', total_bytes=10) as advance:\n"
            "        advance(10)\n"
            "    calls.append('good')\n"
            "def bad(progress):\n"
            "    raise OSError('disk full')\n"
        )},
    )
    assert download_files() == 1
    captured = capsys.readouterr()
    assert "good: model.bin ready" in captured.out
    assert "bad: failed: OSError: disk full" in captured.err
    import lkt_dl  # type: ignore[import-not-found]

    assert lkt_dl.calls == ["good"]


def test_download_files_with_no_hooks(capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> None:
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group=None: [])
    assert download_files() == 0
    assert "no installed plugin needs files" in capsys.readouterr().out


def test_progress_verify_checks_a_packaged_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib

    model = tmp_path / "model.bin"
    model.write_bytes(b"weights" * 1000)
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    fix = "pip install --force-reinstall acme"
    progress = Progress("acme")
    progress.verify(model, digest, what="the Acme model", fix=fix)
    assert "acme: model.bin (verified) ready" in capsys.readouterr().out

    with pytest.raises(FileIntegrityError) as info:
        progress.verify(model, "0" * 64, what="the Acme model", fix=fix, source="acme-data 1.0")
    message = str(info.value)
    assert f"the Acme model {model} (7000 bytes) has sha256 {digest}, expected {'0' * 64}" in message
    assert "or acme-data 1.0 is not the release" in message and fix in message
    assert "ready" not in capsys.readouterr().out

    with pytest.raises(FileNotFoundError, match="the Acme model is missing") as missing:
        progress.verify(tmp_path / "gone.bin", digest, what="the Acme model", fix=fix)
    assert fix in str(missing.value)
