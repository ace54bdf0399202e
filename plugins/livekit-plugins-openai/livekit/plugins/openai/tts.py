"""OpenAI text-to-speech (``/audio/speech``), streamed as raw 24 kHz PCM.

The API takes a complete text per request, so this TTS is not a streaming-text TTS: the session
splits the LLM's output into sentences and synthesizes each one. The audio itself is streamed:
bytes go to the audio emitter as they arrive, so playback starts with the first chunk.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from livekit.agents import APIConnectOptions, APIError
from livekit.agents import tts as _tts
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr, is_given
from livekit.agents.utils import shortuuid

from ._client import ClientConfig, sdk_errors, to_api_error
from .models import DEFAULT_TTS_MODEL, DEFAULT_VOICE, TTS_SAMPLE_RATE

if TYPE_CHECKING:
    import openai

__all__ = ["TTS"]


@dataclass(frozen=True)
class _Options:
    model: str
    voice: str
    speed: float
    instructions: str | None


class TTS(_tts.TTS):
    """Speech from ``tts-1``, ``tts-1-hd`` or ``gpt-4o-mini-tts`` (``instructions`` steer the
    latter's style), in the given ``voice`` (default ``alloy``), as 24 kHz mono PCM."""

    def __init__(
        self,
        *,
        model: str = DEFAULT_TTS_MODEL,
        voice: str = DEFAULT_VOICE,
        speed: float = 1.0,
        instructions: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        client: openai.AsyncOpenAI | None = None,
    ) -> None:
        super().__init__(
            capabilities=_tts.TTSCapabilities(streaming=False),
            sample_rate=TTS_SAMPLE_RATE,
            num_channels=1,
        )
        if not model:
            raise ValueError("model must be a non-empty model id, e.g. 'gpt-4o-mini-tts'")
        if not voice:
            raise ValueError("voice must be a non-empty voice name, e.g. 'alloy'")
        _check_speed(speed)
        if client is not None:
            self._config = ClientConfig(api_key=str(client.api_key), base_url=str(client.base_url))
            self._client = client
            self._owns_client = False
        else:
            self._config = ClientConfig.resolve(
                api_key=api_key, base_url=base_url, what="openai.TTS"
            )
            self._client = self._config.create_client()
            self._owns_client = True
        self._opts = _Options(model=model, voice=voice, speed=speed, instructions=instructions)

    @property
    def model(self) -> str:
        return self._opts.model

    @property
    def voice(self) -> str:
        return self._opts.voice

    @property
    def provider(self) -> str:
        return self._config.provider

    def update_options(
        self,
        *,
        voice: NotGivenOr[str] = NOT_GIVEN,
        speed: NotGivenOr[float] = NOT_GIVEN,
        instructions: NotGivenOr[str | None] = NOT_GIVEN,
    ) -> None:
        """Change the voice, speed or instructions for the next syntheses."""
        changes: dict[str, Any] = {}
        if is_given(voice):
            if not voice:
                raise ValueError("voice must be a non-empty voice name")
            changes["voice"] = voice
        if is_given(speed):
            _check_speed(speed)
            changes["speed"] = speed
        if is_given(instructions):
            changes["instructions"] = instructions
        self._opts = replace(self._opts, **changes)

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> _tts.ChunkedStream:
        if not isinstance(text, str):
            raise TypeError(f"openai.TTS.synthesize needs a str, got {type(text).__name__}")
        return _ChunkedStream(tts=self, input_text=text, conn_options=conn_options, opts=self._opts)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.close()


def _check_speed(speed: float) -> None:
    if not 0.25 <= speed <= 4.0:
        raise ValueError(f"speed must be between 0.25 and 4.0, got {speed}")


class _ChunkedStream(_tts.ChunkedStream):
    def __init__(
        self, *, tts: TTS, input_text: str, conn_options: APIConnectOptions, opts: _Options
    ) -> None:
        self._openai = tts
        self._opts = opts
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)

    async def _run(self, output_emitter: _tts.AudioEmitter) -> None:
        if not self.input_text.strip():
            return  # nothing to say: no request, no audio
        tts, opts = self._openai, self._opts
        request: dict[str, Any] = {
            "input": self.input_text,
            "model": opts.model,
            "voice": opts.voice,
            "response_format": "pcm",
            "speed": opts.speed,
            "timeout": self._conn_options.timeout,
        }
        if opts.instructions:
            request["instructions"] = opts.instructions
        try:
            async with tts._client.audio.speech.with_streaming_response.create(**request) as resp:
                output_emitter.initialize(
                    request_id=resp.headers.get("x-request-id") or shortuuid("req_"),
                    sample_rate=TTS_SAMPLE_RATE,
                    num_channels=1,
                    mime_type="audio/pcm",
                )
                ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype == "text/event-stream":
                    await _push_sse(resp.iter_bytes(), output_emitter)
                elif ctype in (
                    "audio/mpeg",
                    "audio/mp3",
                    "audio/ogg",
                    "audio/opus",
                    "audio/aac",
                    "audio/flac",
                ):
                    raise APIError(
                        f"{tts._config.label} answered {ctype} although raw PCM was requested",
                        retryable=False,
                    )
                else:
                    await _push_pcm(resp.iter_bytes(), output_emitter)
        except sdk_errors() as e:
            raise to_api_error(e, label=tts._config.label, api_key=tts._config.api_key) from e


async def _push_pcm(chunks: Any, emitter: _tts.AudioEmitter) -> None:
    """Forward raw PCM as it arrives; a WAV header (some compatible servers add one) is skipped."""
    head = b""
    checked = False
    async for chunk in chunks:
        if not checked:
            head += chunk
            if len(head) < 4:
                continue
            if head.startswith(b"RIFF"):
                offset = _wav_data_offset(head)
                if offset is None:
                    continue  # the header is not complete yet
                head = head[offset:]
            checked = True
            chunk, head = head, b""
        if chunk:
            emitter.push(chunk)
    if head:
        emitter.push(head)


def _wav_data_offset(data: bytes) -> int | None:
    """Where the samples of a RIFF/WAVE buffer start (None while the header is incomplete)."""
    pos = 12
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        if chunk_id == b"data":
            return pos + 8
        pos += 8 + size + (size & 1)
    return None


async def _push_sse(chunks: Any, emitter: _tts.AudioEmitter) -> None:
    """Forward base64 audio from ``speech.audio.delta`` events."""
    buf = b""
    async for chunk in chunks:
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            _push_sse_line(line.strip(), emitter)
    _push_sse_line(buf.strip(), emitter)


def _push_sse_line(line: bytes, emitter: _tts.AudioEmitter) -> None:
    if not line.startswith(b"data:"):
        return
    payload = line[5:].strip()
    if not payload or payload == b"[DONE]":
        return
    try:
        event = json.loads(payload)
    except ValueError:
        return
    if isinstance(event, dict) and event.get("type") == "speech.audio.delta":
        audio = event.get("audio") or event.get("delta")
        if isinstance(audio, str) and audio:
            emitter.push(base64.b64decode(audio))
