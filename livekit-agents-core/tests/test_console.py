"""``console``: text mode through a pipe, file mode producing a WAV reply, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

AGENT = '''
from livekit.agents import Agent, AgentSession, JobContext, cli, function_tool
from livekit.agents.testing import FakeLLM, FakeResponse, FakeSTT, FakeToolCall, FakeTTS, FakeVAD


class Assistant(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Be helpful.")

    @function_tool
    async def get_weather(self, location: str) -> str:
        """Weather lookup."""
        return f"sunny in {location}"


async def entrypoint(ctx: JobContext) -> None:
    await ctx.connect()
    assert ctx.room.name == "console" and ctx.job.id
    llm = FakeLLM(rules={
        "weather": [FakeResponse(tool_calls=[FakeToolCall("get_weather", {"location": "Paris"})]),
                    "It is sunny in Paris."],
        "hello": "Hi! How can I help?",
    })
    session = AgentSession(
        llm=llm, stt=FakeSTT(["what is the weather in Paris"]), tts=FakeTTS(seconds_per_char=0.01),
        vad=FakeVAD(min_silence_duration=0.2), min_endpointing_delay=0.2,
    )
    await session.start(agent=Assistant(), room=ctx.room)


if __name__ == "__main__":
    cli.run_app(entrypoint)
'''


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "agent.py"
    path.write_text(AGENT)
    return path


def _question_wav(path: Path) -> None:
    rate = 16000
    t = np.arange(int(rate * 1.0)) / rate
    speech = (0.3 * 32767 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)
    pcm = np.concatenate([np.zeros(rate // 4, np.int16), speech, np.zeros(rate // 4, np.int16)])
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def _run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], input=stdin, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_text_mode_through_a_pipe(tmp_path: Path) -> None:
    proc = _run(str(_script(tmp_path)), "console", "--text", stdin="hello\nweather in Paris please\n")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "you: hello" in lines
    assert "agent: Hi! How can I help?" in lines
    assert 'tool: get_weather({"location": "Paris"}) -> sunny in Paris' in lines
    assert "agent: It is sunny in Paris." in lines
    assert lines.index("agent: Hi! How can I help?") < lines.index("you: weather in Paris please")


def test_file_mode_writes_the_reply_and_the_transcript(tmp_path: Path) -> None:
    question = tmp_path / "question.wav"
    _question_wav(question)
    reply, transcript = tmp_path / "reply.wav", tmp_path / "out.jsonl"
    proc = _run(str(_script(tmp_path)), "console", "--input", str(question), "--output", str(reply),
                "--transcript", str(transcript))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "you: what is the weather in Paris" in proc.stdout
    assert "agent: It is sunny in Paris." in proc.stdout
    assert f"reply audio: {reply}" in proc.stdout
    with wave.open(str(reply), "rb") as w:
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        assert w.getframerate() == 24000
    assert audio.size > 0 and np.abs(audio).max() > 1000  # non-silent agent speech
    events = [json.loads(line) for line in transcript.read_text().splitlines()]
    kinds = {e["type"] for e in events}
    assert {"user_input_transcribed", "conversation_item_added", "function_call", "metrics"} <= kinds
    said = [e["text"] for e in events if e["type"] == "conversation_item_added"]
    assert said == ["what is the weather in Paris", "It is sunny in Paris."]


def test_file_mode_rejects_a_missing_or_bad_file(tmp_path: Path) -> None:
    script = _script(tmp_path)
    missing = _run(str(script), "console", "--input", str(tmp_path / "nope.wav"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF????WAVEjunk")
    proc = _run(str(script), "console", "--input", str(bad))
    assert proc.returncode == 2
    assert "not a readable WAV file" in proc.stdout + proc.stderr


def test_help_on_each_command(tmp_path: Path) -> None:
    script = str(_script(tmp_path))
    for command in ("console", "dev", "start", "download-files"):
        proc = _run(script, command, "--help")
        assert proc.returncode == 0 and "usage:" in proc.stdout, command
    proc = _run(script)
    assert proc.returncode == 2 and "console" in proc.stdout


def test_dotenv_is_read_from_the_working_directory(tmp_path: Path) -> None:
    script = tmp_path / "show_env.py"
    script.write_text(
        "import os\n"
        "from livekit.agents import cli\n"
        "async def entrypoint(ctx):\n"
        "    pass\n"
        "if __name__ == '__main__':\n"
        "    import sys\n"
        "    from livekit.agents.cli import _app\n"
        "    _app._load_dotenv()\n"
        "    print(os.environ.get('LIVEKIT_URL'))\n"
    )
    (tmp_path / ".env").write_text("LIVEKIT_URL=wss://from-dotenv.example\n")
    proc = _run(str(script), cwd=tmp_path)
    assert proc.stdout.strip() == "wss://from-dotenv.example"
