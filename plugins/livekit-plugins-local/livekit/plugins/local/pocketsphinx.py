"""Offline speech-to-text with PocketSphinx (CMU Sphinx), a light fallback to Whisper.

The ``pocketsphinx`` wheel bundles its US English model: a 29 MB download that loads in half
a second. It is right on short, clear sentences and much less accurate than Whisper on
longer or less clear speech (about one word in five wrong on a three-sentence clip).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from livekit.agents import APIConnectOptions
from livekit.agents._exceptions import APIError
from livekit.agents.stt import STT as _STT
from livekit.agents.stt import SpeechData, SpeechEvent, SpeechEventType, STTCapabilities
from livekit.agents.types import NotGivenOr, is_given
from livekit.agents.utils import shortuuid
from livekit.agents.utils.audio import AudioBuffer

from ._audio import to_int16_mono

__all__ = ["PocketSphinxSTT"]

POCKETSPHINX = "pocketsphinx"
_LANGUAGES = ("en", "en-us")
_SAMPLE_RATE = 16000

_lock = threading.Lock()
_decoder: Any = None


def _shared_decoder() -> Any:
    """The process's decoder with the bundled en-us model; loaded on first use. Blocking."""
    global _decoder
    if _decoder is None:
        from pocketsphinx import Decoder

        _decoder = Decoder(samprate=_SAMPLE_RATE)
    return _decoder


def _check_language(language: str) -> str:
    code = language.strip().lower().replace("_", "-")
    if code not in _LANGUAGES:
        raise ValueError(
            f"local/pocketsphinx only knows US English ('en' or 'en-US'), got {language!r}; "
            f"use local/whisper-base for other languages"
        )
    return "en"


class PocketSphinxSTT(_STT):
    """PocketSphinx with its bundled US English model (``"local/pocketsphinx"``)."""

    def __init__(self, *, language: str = "en") -> None:
        super().__init__(capabilities=STTCapabilities(streaming=False, interim_results=False))
        self._language = _check_language(language)
        import importlib.util

        if importlib.util.find_spec("pocketsphinx") is None:
            raise ModuleNotFoundError(
                'local/pocketsphinx needs the pocketsphinx package: pip install '
                '"livekit-plugins-local[pocketsphinx]"',
                name="pocketsphinx",
            )

    @property
    def model(self) -> str:
        return POCKETSPHINX

    @property
    def provider(self) -> str:
        return "local"

    def load(self) -> Any:
        """Load the shared decoder (first call only); blocking."""
        with _lock:
            return _shared_decoder()

    async def _recognize_impl(
        self, buffer: AudioBuffer, *, language: NotGivenOr[str], conn_options: APIConnectOptions
    ) -> SpeechEvent:
        if is_given(language):
            _check_language(language)
        try:
            text = await asyncio.to_thread(self._decode, buffer)
        except (ValueError, RuntimeError, OSError) as e:
            raise APIError(f"local PocketSphinx recognition failed: {e}", retryable=False) from e
        return SpeechEvent(
            type=SpeechEventType.FINAL_TRANSCRIPT,
            request_id=shortuuid("stt_"),
            alternatives=[SpeechData(language=self._language, text=text)],
        )

    def _decode(self, buffer: AudioBuffer) -> str:
        pcm = to_int16_mono(buffer, _SAMPLE_RATE).tobytes()
        if not pcm:
            return ""
        with _lock:  # one decoder, one utterance at a time
            decoder = _shared_decoder()
            decoder.start_utt()
            try:
                decoder.process_raw(pcm, no_search=False, full_utt=True)
            finally:
                decoder.end_utt()
            hyp = decoder.hyp()
            return str(hyp.hypstr).strip() if hyp is not None else ""
