"""The local models themselves: Whisper base, PocketSphinx and SmolLM2 (slow: they load models).

The speech fixture is piper's voice saying "What is the weather in Paris today?" (committed
in tests/assets, 16 kHz mono). Transcripts are judged by word error rate, not exact match.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from livekit import rtc

from livekit.agents import ChatContext, registry
from livekit.agents.utils.audio import read_wav

QUESTION = "What is the weather in Paris today?"

pytestmark = pytest.mark.slow


def _frames(path: Path) -> list[rtc.AudioFrame]:
    _, _, frames = read_wav(path)
    return frames


def _as_48k_stereo(frames: list[rtc.AudioFrame]) -> rtc.AudioFrame:
    """The same speech as a browser would send it: 48 kHz, two channels."""
    pcm = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames])
    up = np.interp(np.arange(len(pcm) * 3) / 3, np.arange(len(pcm)), pcm).astype(np.int16)
    stereo = np.repeat(up[:, None], 2, axis=1)
    return rtc.AudioFrame(stereo.tobytes(), 48000, 2, len(up))


@pytest.mark.usefixtures("whisper_installed")
async def test_whisper_transcribes_the_question(
    question_wav: Path, wer: Callable[[str, str], float], tmp_path: Path
) -> None:
    stt = registry.resolve("stt", "local/whisper-base")
    event = await stt.recognize(_frames(question_wav))
    text = event.alternatives[0].text
    assert wer(QUESTION, text) <= 0.15, text
    assert event.alternatives[0].language == "en"

    # any rate and layout is converted to what Whisper takes
    event = await stt.recognize(_as_48k_stereo(_frames(question_wav)))
    assert wer(QUESTION, event.alternatives[0].text) <= 0.15, event.alternatives[0].text


@pytest.mark.usefixtures("whisper_installed")
async def test_whisper_detects_the_language_when_asked(question_wav: Path) -> None:
    stt = registry.resolve("stt", "local/whisper-base:auto")
    event = await stt.recognize(_frames(question_wav))
    assert event.alternatives[0].language == "en"


@pytest.mark.usefixtures("whisper_installed")
async def test_silence_gives_an_empty_or_short_transcript() -> None:
    stt = registry.resolve("stt", "local/whisper-base")
    silence = rtc.AudioFrame(bytes(16000 * 2), 16000, 1, 16000)
    event = await stt.recognize([silence])
    assert len(event.alternatives[0].text.split()) <= 3
    empty = await stt.recognize([rtc.AudioFrame(b"", 16000, 1, 0)])
    assert empty.alternatives[0].text == ""


@pytest.mark.usefixtures("whisper_installed", "smollm2_installed")
async def test_two_sessions_share_one_loaded_model_of_each_kind() -> None:
    from livekit.agents import AgentSession

    first = AgentSession(stt="local/whisper-base", llm="local/smollm2")
    second = AgentSession(stt="local/whisper-base:fr", llm="local/smollm2")  # other options
    assert first.stt is not second.stt
    assert first.stt.load() is second.stt.load()  # type: ignore[union-attr]
    assert first.llm.load() is second.llm.load()  # type: ignore[union-attr]


@pytest.mark.usefixtures("whisper_installed")
def test_the_joined_model_is_verified(tmp_path: Path) -> None:
    from livekit.plugins.local import _weights, _whisper_model

    files = _whisper_model.whisper_base_files()
    directory = _weights.join_verified(files, tmp_path / "whisper")
    assert _weights.sha256_file(directory / "model.bin") == _whisper_model.WHISPER_BASE_SHA256
    assert sorted(p.name for p in directory.iterdir()) == [
        "config.json", "model.bin", "tokenizer.json", "vocabulary.txt",
    ]


@pytest.mark.usefixtures("pocketsphinx_installed")
async def test_pocketsphinx_transcribes_the_question(
    question_wav: Path, wer: Callable[[str, str], float]
) -> None:
    stt = registry.resolve("stt", "local/pocketsphinx")
    event = await stt.recognize(_frames(question_wav))
    assert wer(QUESTION, event.alternatives[0].text) <= 0.3, event.alternatives[0].text


def _chat(question: str) -> ChatContext:
    ctx = ChatContext.empty()
    ctx.add_message(role="system", content="You are a friendly voice assistant. Answer briefly.")
    ctx.add_message(role="user", content=question)
    return ctx


@pytest.mark.usefixtures("smollm2_installed")
async def test_smollm2_streams_a_reply_token_by_token() -> None:
    llm = registry.resolve("llm", "local/smollm2", seed=1)
    metrics: list[Any] = []
    llm.on("metrics_collected", metrics.append)
    pieces: list[str] = []
    usage = None
    async with llm.chat(chat_ctx=_chat("What can you do?")) as stream:
        async for chunk in stream:
            if chunk.delta and chunk.delta.content:
                pieces.append(chunk.delta.content)
            if chunk.usage:
                usage = chunk.usage
    text = "".join(pieces).strip()
    assert len(pieces) >= 5 and text
    assert "<|im_end|>" not in text and "<|im_start|>" not in text  # the template's stop works
    assert usage is not None and usage.completion_tokens >= len(pieces) - 1
    assert usage.prompt_tokens > 10
    assert metrics and metrics[-1].ttft > 0


@pytest.mark.usefixtures("smollm2_installed")
async def test_smollm2_is_loaded_once_and_recovers_after_a_cancelled_reply() -> None:
    first = registry.resolve("llm", "local/smollm2")
    second = registry.resolve("llm", "local/smollm2", temperature=0.2)
    assert first.load() is second.load()

    stream = first.chat(chat_ctx=_chat("Tell me a long story about a dragon."))
    async for chunk in stream:
        if chunk.delta and chunk.delta.content:
            break
    await stream.aclose()  # the user interrupted: the model must be free for the next reply
    reply = await second.chat(chat_ctx=_chat("Say hello.")).collect()
    assert reply.text.strip()
