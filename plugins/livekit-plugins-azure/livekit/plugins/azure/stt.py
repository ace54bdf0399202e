"""Azure AI Speech speech-to-text: the websocket protocol for streams, the REST endpoint for batches."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from livekit.agents import APIConnectionError, APITimeoutError
from livekit.agents.stt import STT as _STT
from livekit.agents.stt import (
    RecognizeStream,
    SpeechData,
    SpeechEvent,
    SpeechEventType,
    STTCapabilities,
)
from livekit.agents.types import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
    is_given,
)
from livekit.agents.utils import shortuuid
from livekit.agents.utils.audio import AudioBuffer, AudioConverter, merge_frames

from ._errors import http_error
from ._options import Mode, Profanity, STTOptions, resolve_base_url, resolve_key
from ._results import TICKS, best_alternative
from ._usp import wav_header

__all__ = ["STT"]

#: Rates the service takes for 16-bit mono PCM.
SAMPLE_RATES = (8000, 16000)


class STT(_STT):
    """Azure AI Speech STT with interim results.

    ``language`` is a BCP-47 locale (``en-US``). The key comes from ``api_key`` or
    ``AZURE_SPEECH_KEY``; the service from ``base_url`` (a custom endpoint: private endpoint,
    container, proxy, compatible server), else ``region``, else ``AZURE_SPEECH_HOST`` (a custom
    endpoint from the environment), else ``AZURE_SPEECH_REGION``.
    """

    def __init__(
        self,
        *,
        language: str = "en-US",
        api_key: str | None = None,
        region: str | None = None,
        base_url: str | None = None,
        sample_rate: int = 16000,
        profanity: Profanity = "masked",
        mode: Mode = "conversation",
        http_session: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__(capabilities=STTCapabilities(streaming=True, interim_results=True))
        key = resolve_key(api_key)
        url = resolve_base_url(base_url, region, service="stt")
        if sample_rate not in SAMPLE_RATES:
            raise ValueError(
                f"Azure Speech takes 8000 or 16000 Hz PCM, got sample_rate={sample_rate}"
            )
        if not language or not language.strip():
            raise ValueError("language must be a locale such as 'en-US'")
        self._opts = STTOptions(
            api_key=key,
            base_url=url,
            language=language.strip(),
            sample_rate=sample_rate,
            profanity=profanity,
            mode=mode,
        )
        self._session = http_session
        self._owns_session = http_session is None

    @property
    def model(self) -> str:
        return "speech"

    @property
    def provider(self) -> str:
        return "azure"

    @property
    def language(self) -> str:
        return self._opts.language

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    def _auth_headers(self) -> dict[str, str]:
        return {"Ocp-Apim-Subscription-Key": self._opts.api_key}

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> RecognizeStream:
        from ._stream import SpeechStream

        return SpeechStream(
            stt=self,
            language=language if is_given(language) else self._opts.language,
            conn_options=conn_options,
        )

    async def _recognize_impl(
        self, buffer: AudioBuffer, *, language: NotGivenOr[str], conn_options: APIConnectOptions
    ) -> SpeechEvent:
        """One utterance (up to 60 s) through the REST short-audio endpoint."""
        lang = language if is_given(language) and language else self._opts.language
        rate = self._opts.sample_rate
        frames = buffer if isinstance(buffer, list) else [buffer]
        pcm = _to_pcm(frames, rate)
        headers = {
            **self._auth_headers(),
            "Content-Type": f"audio/wav; codecs=audio/pcm; samplerate={rate}",
            "Accept": "application/json",
        }
        session = self._ensure_session()
        try:
            async with session.post(
                self._opts.rest_url(lang),
                data=wav_header(rate, data_size=len(pcm)) + pcm,
                headers=headers,
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=conn_options.timeout, sock_read=conn_options.timeout
                ),
            ) as resp:
                if resp.status != 200:
                    detail = (await resp.text())[:300]
                    raise http_error(resp.status, resp.headers, detail)
                body: Any = await resp.json(content_type=None)
                request_id = resp.headers.get("X-RequestId") or shortuuid("az_")
        except asyncio.TimeoutError:
            raise APITimeoutError(
                f"Azure Speech sent nothing for {conn_options.timeout:.1f}s"
            ) from None
        except aiohttp.ClientError as e:
            raise APIConnectionError(f"Azure Speech request failed: {type(e).__name__}") from e
        except ValueError:
            raise APIConnectionError("Azure Speech sent a response that is not JSON") from None

        if not isinstance(body, dict):
            body = {}
        status = body.get("RecognitionStatus", "")
        text, confidence = best_alternative(body) if status == "Success" else ("", 0.0)
        offset = float(body.get("Offset", 0)) / TICKS
        duration = float(body.get("Duration", 0)) / TICKS
        return SpeechEvent(
            type=SpeechEventType.FINAL_TRANSCRIPT,
            request_id=request_id,
            alternatives=[
                SpeechData(
                    language=lang,
                    text=text,
                    start_time=offset,
                    end_time=offset + duration,
                    confidence=confidence,
                )
            ],
        )

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None


def _to_pcm(frames: list[Any], rate: int) -> bytes:
    """16-bit mono PCM at ``rate`` of the frames (resampled when needed)."""
    if not frames:
        return b""
    merged = merge_frames(frames)
    if merged.sample_rate == rate and merged.num_channels == 1:
        return bytes(merged.data)
    converter = AudioConverter(rate, 1)
    out = converter.push(merged) + converter.flush()
    return b"".join(bytes(f.data) for f in out)
