"""Offline text-to-speech with Piper (VITS on onnxruntime, espeak-ng phonemes, bundled).

A batch TTS: the session's StreamAdapter feeds it one sentence at a time as the LLM writes,
and within one text Piper synthesizes sentence by sentence; each sentence's audio is pushed
the moment it exists. Synthesis runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from livekit.agents import APIConnectOptions
from livekit.agents._exceptions import APIError
from livekit.agents.tts import TTS as _TTS
from livekit.agents.tts import AudioEmitter, ChunkedStream, TTSCapabilities
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS
from livekit.agents.utils import shortuuid

from ._voices import load_voice, resolve_voice, synthesis_lock
from .log import logger

__all__ = ["TTS"]


class TTS(_TTS):
    """Piper with a packaged voice (``voice="joe"``) or a voice file (``model_path=``).

    ``length_scale`` > 1 speaks slower, < 1 faster; ``noise_scale`` and ``noise_w_scale``
    vary intonation and rhythm (the voice's own defaults when None); ``volume`` scales the
    normalized audio; ``speaker_id`` picks a speaker of a multi-speaker voice;
    ``num_threads`` bounds onnxruntime's threads (its default: all cores).
    """

    def __init__(
        self,
        *,
        voice: str = "joe",
        model_path: str | Path | None = None,
        config_path: str | Path | None = None,
        length_scale: float | None = None,
        noise_scale: float | None = None,
        noise_w_scale: float | None = None,
        volume: float = 1.0,
        speaker_id: int | None = None,
        num_threads: int | None = None,
    ) -> None:
        files = resolve_voice(voice, model_path=model_path, config_path=config_path)
        super().__init__(
            capabilities=TTSCapabilities(streaming=False), sample_rate=files.sample_rate
        )
        for name, value in (
            ("length_scale", length_scale),
            ("noise_scale", noise_scale),
            ("noise_w_scale", noise_w_scale),
        ):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        if volume <= 0:
            raise ValueError(f"volume must be > 0, got {volume}")
        if speaker_id is not None and not 0 <= speaker_id < files.num_speakers:
            raise ValueError(
                f"speaker_id {speaker_id} is out of range: voice {files.name!r} has "
                f"{files.num_speakers} speaker(s)"
            )
        if num_threads is not None and num_threads < 1:
            raise ValueError(f"num_threads must be >= 1, got {num_threads}")
        self._files = files
        self._length_scale = length_scale
        self._noise_scale = noise_scale
        self._noise_w_scale = noise_w_scale
        self._volume = volume
        self._speaker_id = speaker_id
        self._num_threads = num_threads
        self._prewarm_thread: threading.Thread | None = None

    @property
    def model(self) -> str:
        return "piper"

    @property
    def provider(self) -> str:
        return "piper"

    @property
    def voice(self) -> str:
        return self._files.name

    def load(self) -> Any:
        """Load the voice (first call in the process only); blocking. Returns the shared voice."""
        return load_voice(self._files, num_threads=self._num_threads)

    def prewarm(self) -> None:
        """Load the voice in a background thread, ahead of the first reply."""
        if self._prewarm_thread is None:
            self._prewarm_thread = threading.Thread(
                target=self._prewarm, name="piper-prewarm", daemon=True
            )
            self._prewarm_thread.start()

    def _prewarm(self) -> None:
        try:
            self.load()
        except Exception:
            logger.exception("could not load the Piper voice")

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        return _Chunked(tts=self, input_text=text, conn_options=conn_options)

    def _syn_config(self) -> Any:
        from piper.config import SynthesisConfig

        return SynthesisConfig(
            speaker_id=self._speaker_id,
            length_scale=self._length_scale,
            noise_scale=self._noise_scale,
            noise_w_scale=self._noise_w_scale,
            volume=self._volume,
        )

    def _synthesize_blocking(
        self, text: str, push: Callable[[bytes], None], stop: threading.Event
    ) -> None:
        """Synthesize ``text``, calling ``push`` with each sentence's 16-bit PCM as it is ready."""
        voice = self.load()
        config = self._syn_config()
        with synthesis_lock:
            for chunk in voice.synthesize(text, syn_config=config):
                if stop.is_set():
                    return
                push(chunk.audio_int16_bytes)


class _Chunked(ChunkedStream):
    _tts: TTS

    async def _run(self, output_emitter: AudioEmitter) -> None:
        tts = self._tts
        output_emitter.initialize(
            request_id=shortuuid("piper_"), sample_rate=tts.sample_rate, num_channels=1
        )
        text = self.input_text.strip()
        if not text:
            return
        loop = asyncio.get_running_loop()
        stop = threading.Event()

        def push(pcm: bytes) -> None:
            # in the worker thread: hand each sentence to the loop as soon as it exists
            try:
                loop.call_soon_threadsafe(self._push, output_emitter, pcm, stop)
            except RuntimeError:  # the loop is closed
                stop.set()

        try:
            await asyncio.to_thread(tts._synthesize_blocking, text, push, stop)
        except asyncio.CancelledError:
            stop.set()
            raise
        except (ValueError, RuntimeError, OSError) as e:
            stop.set()
            raise APIError(f"Piper synthesis failed: {e}", retryable=False) from e

    @staticmethod
    def _push(emitter: AudioEmitter, pcm: bytes, stop: threading.Event) -> None:
        if not stop.is_set():
            emitter.push(pcm)
