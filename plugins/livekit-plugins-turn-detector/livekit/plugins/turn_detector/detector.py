"""End-of-turn detection from the user's voice with Smart Turn v3 (an audio model).

After each pause the session hands the detector the last seconds of the user's audio. The model
hears the words and the prosody (a falling or questioning close versus a voice left hanging,
"my number is 415...") and gives the probability that the turn is complete; under
``unlikely_threshold`` the session waits ``max_endpointing_delay`` for more speech, otherwise
it answers after ``min_endpointing_delay``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from livekit.agents import turn
from livekit.agents.utils.audio import AudioConverter

from . import _model
from ._features import SAMPLE_RATE

if TYPE_CHECKING:
    from livekit import rtc

    from livekit.agents.llm import ChatContext
    from livekit.agents.worker.job import JobProcess

__all__ = ["SUPPORTED_LANGUAGES", "SmartTurnDetector", "prewarm"]

logger = logging.getLogger("livekit.plugins.turn_detector")

#: languages Smart Turn v3 was trained on (ISO 639-1)
SUPPORTED_LANGUAGES = frozenset(
    {
        "ar", "bn", "da", "de", "en", "es", "fi", "fr", "hi", "id", "it", "ja",
        "ko", "mr", "nl", "no", "pl", "pt", "ru", "tr", "uk", "vi", "zh",
    }
)
_LANGUAGE_ALIASES = {"nb": "no", "nn": "no", "cmn": "zh", "yue": "zh"}

#: silence kept after the last speech. The model judges turns that end shortly after the voice
#: stops (it is meant to run after a ~0.2 s VAD pause); given the half second or more of
#: silence that precedes a decision here, even a sentence cut mid-way sounds finished to it
_KEPT_SILENCE = 0.15
_ENERGY_FRAME = 160  # 10 ms at 16 kHz


class SmartTurnDetector(turn.TurnDetector):
    """Smart Turn v3.2: 8 MB, offline, 23 languages; the model ships inside this package.

    The model is loaded once per process (loading starts in the background when the first
    detector is created) and shared; predictions run on one inference thread, never on the
    event loop.
    """

    needs_audio = True
    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        *,
        unlikely_threshold: float = 0.5,
        languages: Iterable[str] | None = None,
        cpu_threads: int = 1,
        model_path: str | None = None,
    ) -> None:
        """
        Args:
            unlikely_threshold: under this probability of a finished turn the session waits
                ``max_endpointing_delay``.
            languages: languages to use the detector for (default: the 23 the model knows);
                for others the session uses ``min_endpointing_delay`` alone.
            cpu_threads: ONNX Runtime intra-op threads for the model.
            model_path: another Smart Turn v3 ONNX file instead of the bundled one.
        """
        if not 0.0 <= unlikely_threshold <= 1.0:
            raise ValueError(f"unlikely_threshold must be in [0, 1], got {unlikely_threshold}")
        if cpu_threads < 1:
            raise ValueError(f"cpu_threads must be >= 1, got {cpu_threads}")
        if model_path is not None:
            from pathlib import Path

            if not Path(model_path).is_file():
                raise FileNotFoundError(f"Smart Turn model file not found: {model_path}")
        self._threshold = unlikely_threshold
        if isinstance(languages, str):
            languages = [languages]
        self._languages = (
            frozenset(lang.lower() for lang in languages)
            if languages is not None
            else SUPPORTED_LANGUAGES
        )
        self._cpu_threads = cpu_threads
        self._model_path = model_path
        self.prewarm()

    @classmethod
    def load(
        cls,
        *,
        unlikely_threshold: float = 0.5,
        languages: Iterable[str] | None = None,
        cpu_threads: int = 1,
        model_path: str | None = None,
    ) -> SmartTurnDetector:
        """Create a detector and load the model now, blocking (for a worker's prewarm hook)."""
        detector = cls(
            unlikely_threshold=unlikely_threshold,
            languages=languages,
            cpu_threads=cpu_threads,
            model_path=model_path,
        )
        _model.load_session(detector._model_path, detector._cpu_threads)
        return detector

    def prewarm(self) -> None:
        """Start loading the model on the inference thread (returns at once)."""
        try:
            _model.executor().submit(_model.load_session, self._model_path, self._cpu_threads)
        except RuntimeError:  # interpreter shutting down
            pass

    @property
    def model(self) -> str:
        return "smart-turn-v3.2"

    @property
    def provider(self) -> str:
        return "semantic"

    async def unlikely_threshold(self, language: str | None) -> float | None:
        if language is None:
            return self._threshold
        base = language.strip().lower().replace("_", "-").split("-")[0]
        base = _LANGUAGE_ALIASES.get(base, base)
        return self._threshold if base in self._languages else None

    async def predict_end_of_turn(
        self,
        chat_ctx: ChatContext,
        *,
        audio: rtc.AudioFrame | None = None,
        timeout: float | None = None,
    ) -> float:
        """P(the user's turn is complete), from the audio of the turn (the text is not used).

        Without audio there is nothing to judge: returns 1.0, so the session does not wait.
        """
        if audio is None or audio.samples_per_channel == 0:
            logger.debug("no audio for the end-of-turn decision; not waiting")
            return 1.0
        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(_model.executor(), self._decide, audio)
        probability, elapsed = await asyncio.wait_for(job, timeout)
        logger.debug("end of turn probability %.3f (%.0f ms)", probability, elapsed * 1000)
        return probability

    def _decide(self, audio: rtc.AudioFrame) -> tuple[float, float]:
        """On the inference thread: prepare the audio, run the model; (probability, seconds)."""
        start = time.perf_counter()
        samples = trim_trailing_silence(_to_model_audio(audio))
        probability = _model.predict(samples, self._model_path, self._cpu_threads)
        return probability, time.perf_counter() - start

    def __repr__(self) -> str:
        return f"SmartTurnDetector(unlikely_threshold={self._threshold})"


def _to_model_audio(frame: rtc.AudioFrame) -> np.ndarray:
    if frame.sample_rate != SAMPLE_RATE or frame.num_channels != 1:
        converter = AudioConverter(SAMPLE_RATE, 1)
        frames = converter.push(frame) + converter.flush()
        pcm = b"".join(bytes(f.data) for f in frames)
    else:
        pcm = bytes(frame.data)
    return np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0


def trim_trailing_silence(audio: np.ndarray, keep: float = _KEPT_SILENCE) -> np.ndarray:
    """Cut the silence after the last speech down to ``keep`` seconds.

    The session asks after the VAD's silence timeout (and the STT's final), so the turn audio
    ends with half a second or more of silence. Speech is told from silence by frame energy
    relative to this clip's own noise floor and loudest frames, so steady background noise
    does not count as speech.
    """
    n = len(audio) // _ENERGY_FRAME
    if n < 2:
        return audio
    frames = audio[: n * _ENERGY_FRAME].reshape(n, _ENERGY_FRAME)
    level = 10.0 * np.log10(np.mean(frames * frames, axis=1) + 1e-12)
    floor, loud = np.percentile(level, 10), np.percentile(level, 95)
    if loud - floor < 10.0:  # no speech stands out: leave the audio as it is
        return audio
    threshold = floor + 0.25 * (loud - floor)
    voiced = np.nonzero(level > threshold)[0]
    end = (int(voiced[-1]) + 1) * _ENERGY_FRAME + int(keep * SAMPLE_RATE)
    return audio[: min(len(audio), end)]


def prewarm(proc: JobProcess | None = None) -> SmartTurnDetector:
    """Load the model in this process; usable as (or from) a worker's prewarm function.

    With a ``JobProcess``, the detector is also stored in ``proc.userdata["turn_detector"]``.
    """
    detector = SmartTurnDetector.load()
    if proc is not None:
        proc.userdata["turn_detector"] = detector
    return detector
