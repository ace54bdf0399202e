"""Offline speech-to-text with Whisper base (faster-whisper / CTranslate2, int8 on CPU).

Batch recognition: the session cuts utterances with its VAD (``StreamAdapter``), and each one
is transcribed in a worker thread, so the event loop never waits on the model.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from livekit.agents import APIConnectOptions
from livekit.agents._exceptions import APIError
from livekit.agents.stt import STT as _STT
from livekit.agents.stt import SpeechData, SpeechEvent, SpeechEventType, STTCapabilities
from livekit.agents.types import NotGivenOr, is_given
from livekit.agents.utils import shortuuid
from livekit.agents.utils.audio import AudioBuffer

from . import _whisper_model
from ._audio import to_float32_mono
from .log import logger

__all__ = ["STT", "WHISPER_LANGUAGES"]

#: Languages Whisper knows (ISO 639-1, plus a few it adds); ``"auto"`` detects the language.
WHISPER_LANGUAGES: frozenset[str] = frozenset(
    (
        "af", "am", "ar", "as", "az", "ba", "be", "bg", "bn", "bo", "br", "bs", "ca", "cs", "cy",
        "da", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fo", "fr", "gl", "gu", "ha", "haw",
        "he", "hi", "hr", "ht", "hu", "hy", "id", "is", "it", "ja", "jw", "ka", "kk", "km", "kn",
        "ko", "la", "lb", "ln", "lo", "lt", "lv", "mg", "mi", "mk", "ml", "mn", "mr", "ms", "mt",
        "my", "ne", "nl", "nn", "no", "oc", "pa", "pl", "ps", "pt", "ro", "ru", "sa", "sd", "si",
        "sk", "sl", "sn", "so", "sq", "sr", "su", "sv", "sw", "ta", "te", "tg", "th", "tk", "tl",
        "tr", "tt", "uk", "ur", "uz", "vi", "yi", "yo", "zh", "yue",
    )
)

_COMPUTE_TYPES = ("int8", "int8_float32", "int16", "float32")
_SAMPLE_RATE = 16000


def normalize_language(language: str) -> str | None:
    """``"en"``, ``"en-US"`` or ``"EN_us"`` -> ``"en"``; ``"auto"`` -> None (detect)."""
    code = language.strip().lower().replace("_", "-")
    if code == "auto":
        return None
    primary = code.split("-")[0] if code not in WHISPER_LANGUAGES else code
    if primary not in WHISPER_LANGUAGES:
        raise ValueError(
            f"Whisper does not know the language {language!r}; use an ISO 639-1 code such as "
            f"'en', 'fr' or 'de', or 'auto' to detect it"
        )
    return primary


class STT(_STT):
    """Whisper base, offline. ``language`` is a code such as ``"en"`` or ``"auto"``.

    ``beam_size=1`` (greedy) is the fastest setting and is exact on clear speech;
    ``cpu_threads`` bounds the CPU the model takes; ``cache_dir`` is where the model file,
    joined from its two packages, is kept (default ``~/.cache/livekit-agents``).
    """

    def __init__(
        self,
        *,
        model: str = _whisper_model.WHISPER_BASE,
        language: str = "en",
        beam_size: int = 1,
        compute_type: str = "int8",
        cpu_threads: int = 2,
        cache_dir: str | Path | None = None,
    ) -> None:
        super().__init__(capabilities=STTCapabilities(streaming=False, interim_results=False))
        if model != _whisper_model.WHISPER_BASE:
            raise ValueError(
                f"unknown local STT model {model!r}; available: "
                f"{_whisper_model.WHISPER_BASE!r} (and 'pocketsphinx')"
            )
        if beam_size < 1:
            raise ValueError(f"beam_size must be >= 1, got {beam_size}")
        if compute_type not in _COMPUTE_TYPES:
            raise ValueError(
                f"compute_type must be one of {', '.join(_COMPUTE_TYPES)}, got {compute_type!r}"
            )
        if cpu_threads < 1:
            raise ValueError(f"cpu_threads must be >= 1, got {cpu_threads}")
        self._language_code = language
        self._language = normalize_language(language)
        self._beam_size = beam_size
        self._compute_type = compute_type
        self._cpu_threads = cpu_threads
        self._cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else None
        # fail now, not at the first utterance, when the runtime or the weights are missing
        _whisper_model.require_faster_whisper()
        _whisper_model.whisper_base_files()
        self._prewarm_thread: threading.Thread | None = None

    @property
    def model(self) -> str:
        return _whisper_model.WHISPER_BASE

    @property
    def provider(self) -> str:
        return "local"

    @property
    def language(self) -> str | None:
        """The language code, or None when it is detected per utterance."""
        return self._language

    def load(self) -> Any:
        """Join (first run only), verify and load the model; blocking. Returns the shared model."""
        return _whisper_model.load_whisper(
            cache_dir=self._cache_dir, compute_type=self._compute_type, cpu_threads=self._cpu_threads
        )

    def prewarm(self) -> None:
        """Load the model in a background thread, so the first utterance does not wait for it."""
        if self._prewarm_thread is None:
            self._prewarm_thread = threading.Thread(
                target=self._prewarm, name="whisper-prewarm", daemon=True
            )
            self._prewarm_thread.start()

    def _prewarm(self) -> None:
        try:
            self.load()
        except Exception:
            logger.exception("could not load the Whisper model")

    async def _recognize_impl(
        self, buffer: AudioBuffer, *, language: NotGivenOr[str], conn_options: APIConnectOptions
    ) -> SpeechEvent:
        lang = normalize_language(language) if is_given(language) else self._language
        try:
            text, detected = await asyncio.to_thread(self._transcribe, buffer, lang)
        except (ValueError, OSError, RuntimeError) as e:
            # a local model does not get better by retrying
            raise APIError(f"local Whisper transcription failed: {e}", retryable=False) from e
        return SpeechEvent(
            type=SpeechEventType.FINAL_TRANSCRIPT,
            request_id=shortuuid("stt_"),
            alternatives=[SpeechData(language=detected, text=text, confidence=1.0 if text else 0.0)],
        )

    def _transcribe(self, buffer: AudioBuffer, language: str | None) -> tuple[str, str]:
        audio = to_float32_mono(buffer, _SAMPLE_RATE)
        if audio.size == 0:
            return "", language or ""
        return _whisper_model.transcribe(
            self.load(), audio, language=language, beam_size=self._beam_size
        )
