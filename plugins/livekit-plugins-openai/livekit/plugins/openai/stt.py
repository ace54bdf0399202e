"""OpenAI speech-to-text (``/audio/transcriptions``): one request per utterance.

The API transcribes complete files, so this STT is not streaming: the session wraps it in
``stt.StreamAdapter`` with a VAD, which cuts utterances and sends each one here as a WAV.
"""

from __future__ import annotations

import io
import wave
from typing import TYPE_CHECKING

from livekit.agents import APIConnectOptions
from livekit.agents import stt as _stt
from livekit.agents.types import NOT_GIVEN, NotGivenOr, is_given
from livekit.agents.utils import AudioBuffer, merge_frames, shortuuid

from ._client import ClientConfig, sdk_errors, to_api_error
from .models import DEFAULT_STT_MODEL, stt_model_id

if TYPE_CHECKING:
    from livekit import rtc

    import openai

__all__ = ["STT"]


class STT(_stt.STT):
    """Batch transcription with ``whisper-1``, ``gpt-4o-transcribe`` or ``gpt-4o-mini-transcribe``.

    ``language`` is an ISO-639-1 code (``"en"``; a region such as ``"en-US"`` is dropped), or
    None to let the model detect it. ``prompt`` guides spelling and vocabulary.
    """

    def __init__(
        self,
        *,
        model: str = DEFAULT_STT_MODEL,
        language: str | None = "en",
        prompt: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        client: openai.AsyncOpenAI | None = None,
    ) -> None:
        super().__init__(capabilities=_stt.STTCapabilities(streaming=False, interim_results=False))
        if not model:
            raise ValueError("model must be a non-empty model id, e.g. 'gpt-4o-mini-transcribe'")
        if client is not None:
            self._config = ClientConfig(api_key=str(client.api_key), base_url=str(client.base_url))
            self._client = client
            self._owns_client = False
        else:
            self._config = ClientConfig.resolve(
                api_key=api_key, base_url=base_url, what="openai.STT"
            )
            self._client = self._config.create_client()
            self._owns_client = True
        self._model = stt_model_id(model)
        self._language = _normalize_language(language)
        self._prompt = prompt

    @property
    def model(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        return self._config.provider

    def update_options(
        self,
        *,
        language: NotGivenOr[str | None] = NOT_GIVEN,
        prompt: NotGivenOr[str | None] = NOT_GIVEN,
    ) -> None:
        if is_given(language):
            self._language = _normalize_language(language)
        if is_given(prompt):
            self._prompt = prompt

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str],
        conn_options: APIConnectOptions,
    ) -> _stt.SpeechEvent:
        frames = buffer if isinstance(buffer, list) else [buffer]
        if not frames:
            raise ValueError("openai.STT: no audio to transcribe (the buffer is empty)")
        wav = _to_wav(merge_frames(frames))
        lang = _normalize_language(language) if is_given(language) else self._language
        request: dict[str, object] = {
            "file": ("audio.wav", wav, "audio/wav"),
            "model": self._model,
            "response_format": "json",
            "timeout": conn_options.timeout,
        }
        if lang:
            request["language"] = lang
        if self._prompt:
            request["prompt"] = self._prompt
        try:
            raw = await self._client.audio.transcriptions.with_raw_response.create(**request)  # type: ignore[call-overload]
            result = raw.parse()
        except sdk_errors() as e:
            raise to_api_error(e, label=self._config.label, api_key=self._config.api_key) from e
        text = getattr(result, "text", result if isinstance(result, str) else "")
        return _stt.SpeechEvent(
            type=_stt.SpeechEventType.FINAL_TRANSCRIPT,
            request_id=raw.headers.get("x-request-id") or shortuuid("req_"),
            alternatives=[_stt.SpeechData(language=lang or "", text=str(text).strip())],
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.close()


def _normalize_language(language: str | None) -> str | None:
    """``en-US`` -> ``en``: the API takes ISO-639-1 codes."""
    if not language:
        return None
    return language.replace("_", "-").split("-")[0].lower()


def _to_wav(frame: rtc.AudioFrame) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(frame.num_channels)
        wav.setsampwidth(2)
        wav.setframerate(frame.sample_rate)
        wav.writeframes(bytes(frame.data))
    return buf.getvalue()
