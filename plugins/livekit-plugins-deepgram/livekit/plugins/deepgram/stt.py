"""Deepgram speech-to-text: streaming over ``/v1/listen`` websockets, batch over REST.

Both go through the official ``deepgram-sdk`` (``AsyncDeepgramClient``): ``listen.v1.connect``
for live streams (see :mod:`._stream`) and ``listen.v1.media.transcribe_file`` for
``recognize()``. The SDK's own retries are off: the framework retries (honouring Retry-After)
and falls back to other providers.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import httpx

from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectionError,
    APIConnectOptions,
    APITimeoutError,
    MissingCredentialsError,
    NotGivenOr,
)
from livekit.agents import stt as agents_stt
from livekit.agents.types import is_given
from livekit.agents.utils.audio import AudioBuffer, merge_frames

from . import _utils
from ._sdk import ApiError, AsyncDeepgramClient, DeepgramClientEnvironment, ListenV1Response
from .models import DEFAULT_LANGUAGE, DEFAULT_MODEL

if TYPE_CHECKING:
    from ._stream import SpeechStream

__all__ = ["STT"]

QueryValue = str | int | float | bool | Sequence[str]


@dataclass(frozen=True)
class STTOptions:
    """What is sent to Deepgram (query parameters) and how the stream behaves."""

    model: str
    language: str
    sample_rate: int
    interim_results: bool
    punctuate: bool
    smart_format: bool
    endpointing_ms: int
    utterance_end_ms: int | None
    vad_events: bool
    filler_words: bool
    no_delay: bool
    numerals: bool
    profanity_filter: bool
    diarize: bool
    keyterms: tuple[str, ...]
    keywords: tuple[tuple[str, float], ...]
    tags: tuple[str, ...]
    mip_opt_out: bool
    keepalive_interval: float
    extra_query: Mapping[str, QueryValue] = field(default_factory=dict)

    def live_params(self) -> dict[str, Any]:
        """Keyword arguments of ``listen.v1.connect`` for these options."""
        params: dict[str, Any] = {
            "model": self.model,
            "language": self.language,
            "encoding": "linear16",
            "sample_rate": self.sample_rate,
            "channels": 1,
            "interim_results": self.interim_results,
            "punctuate": self.punctuate,
            "smart_format": self.smart_format,
            "endpointing": self.endpointing_ms if self.endpointing_ms > 0 else False,
            "vad_events": self.vad_events,
            "numerals": self.numerals,
            "profanity_filter": self.profanity_filter,
            "mip_opt_out": self.mip_opt_out,
        }
        if self.utterance_end_ms is not None:
            params["utterance_end_ms"] = self.utterance_end_ms
        params.update(self._shared_params())
        # parameters the SDK's connect() does not name
        extra: dict[str, Any] = {"filler_words": self.filler_words, "no_delay": self.no_delay}
        extra.update(self.extra_query)
        params["request_options"] = {"additional_query_parameters": extra}
        return params

    def batch_params(self, language: str) -> dict[str, Any]:
        """Keyword arguments of ``listen.v1.media.transcribe_file`` (besides the body)."""
        params: dict[str, Any] = {
            "model": self.model,
            "language": language,
            "punctuate": self.punctuate,
            "smart_format": self.smart_format,
            "numerals": self.numerals,
            "profanity_filter": self.profanity_filter,
            "mip_opt_out": self.mip_opt_out,
            "filler_words": self.filler_words,
        }
        params.update(self._shared_params())
        return params

    def _shared_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.diarize:
            params["diarize"] = True
        if self.keyterms:
            params["keyterm"] = list(self.keyterms)
        if self.keywords:
            params["keywords"] = [f"{word}:{boost:g}" for word, boost in self.keywords]
        if self.tags:
            params["tag"] = list(self.tags)
        return params


class STT(agents_stt.STT):
    """Deepgram STT. Streams over a websocket; ``recognize()`` uses the prerecorded API.

    Resolved from ``"deepgram/<model>[:<language>]"`` (e.g. ``"deepgram/nova-3:fr"``).
    """

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        language: str = DEFAULT_LANGUAGE,
        api_key: str | None = None,
        base_url: str | None = None,
        sample_rate: int = 16000,
        interim_results: bool = True,
        punctuate: bool = True,
        smart_format: bool = False,
        endpointing_ms: int = 25,
        utterance_end_ms: int | None = None,
        vad_events: bool = True,
        filler_words: bool = True,
        no_delay: bool = True,
        numerals: bool = False,
        profanity_filter: bool = False,
        diarize: bool = False,
        keyterms: Sequence[str] = (),
        keywords: Sequence[tuple[str, float]] = (),
        tags: Sequence[str] = (),
        mip_opt_out: bool = False,
        keepalive_interval: float = 5.0,
        extra_query: Mapping[str, QueryValue] | None = None,
    ) -> None:
        """Create a Deepgram STT.

        ``api_key`` defaults to ``$DEEPGRAM_API_KEY``; ``base_url`` (http, https, ws or wss;
        default ``$DEEPGRAM_BASE_URL``, else Deepgram's cloud) points at a self-hosted or
        compatible server: both transports are derived from it.
        ``endpointing_ms`` is the silence after which Deepgram marks ``speech_final`` (0
        disables it); ``utterance_end_ms`` asks for ``UtteranceEnd`` messages (needs
        ``interim_results``). ``keyterms`` boost terms on nova-3, ``keywords`` (word, boost)
        on older models. ``extra_query`` adds query parameters this class does not name.
        """
        super().__init__(
            capabilities=agents_stt.STTCapabilities(
                streaming=True, interim_results=interim_results
            )
        )
        key = api_key or os.environ.get(_utils.API_KEY_ENV)
        if not key:
            raise MissingCredentialsError(
                f"Deepgram needs an API key: set {_utils.API_KEY_ENV} or pass api_key=",
                env_var=_utils.API_KEY_ENV,
            )
        if not model:
            raise ValueError("model must be a Deepgram model id such as 'nova-3'")
        if not language:
            raise ValueError("language must be a language code such as 'en-US', or 'multi'")
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        if endpointing_ms < 0:
            raise ValueError(f"endpointing_ms must be >= 0 (0 disables it), got {endpointing_ms}")
        if utterance_end_ms is not None and not interim_results:
            raise ValueError("utterance_end_ms needs interim_results=True (Deepgram's rule)")
        if keepalive_interval <= 0:
            raise ValueError(f"keepalive_interval must be positive, got {keepalive_interval}")
        if keywords and model.startswith("nova-3"):
            raise ValueError("nova-3 does not take keywords=; use keyterms=[...] instead")
        if keyterms and not model.startswith("nova-3"):
            raise ValueError(f"keyterms= needs a nova-3 model ({model!r} takes keywords=)")
        self._api_key = key
        self._http_base, self._ws_base = _utils.resolve_base_url(base_url)
        self._opts = STTOptions(
            model=model,
            language=language,
            sample_rate=sample_rate,
            interim_results=interim_results,
            punctuate=punctuate,
            smart_format=smart_format,
            endpointing_ms=endpointing_ms,
            utterance_end_ms=utterance_end_ms,
            vad_events=vad_events,
            filler_words=filler_words,
            no_delay=no_delay,
            numerals=numerals,
            profanity_filter=profanity_filter,
            diarize=diarize,
            keyterms=tuple(keyterms),
            keywords=tuple((w, float(b)) for w, b in keywords),
            tags=tuple(tags),
            mip_opt_out=mip_opt_out,
            keepalive_interval=keepalive_interval,
            extra_query=dict(extra_query or {}),
        )
        self._client: AsyncDeepgramClient | None = None
        self._http: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._streams: weakref.WeakSet[SpeechStream] = weakref.WeakSet()

    @property
    def model(self) -> str:
        return self._opts.model

    @property
    def provider(self) -> str:
        return "deepgram"

    @property
    def options(self) -> STTOptions:
        return self._opts

    @property
    def base_url(self) -> str:
        return self._http_base

    def _ensure_client(self) -> AsyncDeepgramClient:
        """The SDK client, created in (and for) the running event loop."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._http = httpx.AsyncClient()
            self._client = AsyncDeepgramClient(
                api_key=self._api_key,
                environment=DeepgramClientEnvironment(
                    base=self._http_base,
                    production=self._ws_base,
                    agent=self._ws_base,
                    agent_rest=self._http_base,
                ),
                max_retries=0,
                httpx_client=self._http,
            )
            self._client_loop = loop
        return self._client

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> SpeechStream:
        from ._stream import SpeechStream

        opts = replace(self._opts, language=language) if is_given(language) else self._opts
        stream = SpeechStream(stt=self, opts=opts, conn_options=conn_options)
        self._streams.add(stream)
        return stream

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str],
        conn_options: APIConnectOptions,
    ) -> agents_stt.SpeechEvent:
        lang = language if is_given(language) and language else self._opts.language
        body = _utils.to_wav(merge_frames(buffer))
        client = self._ensure_client()
        try:
            response = await client.listen.v1.media.transcribe_file(
                request=body,
                **self._opts.batch_params(lang),
                request_options={"max_retries": 0, "timeout": conn_options.timeout},
            )
        except ApiError as e:
            raise _utils.status_error(
                e.status_code or 0, what="transcription request", headers=e.headers, body=e.body
            ) from None
        except httpx.TimeoutException:
            raise APITimeoutError(
                f"Deepgram did not answer the transcription request within "
                f"{conn_options.timeout:.1f}s"
            ) from None
        except httpx.HTTPError as e:
            raise APIConnectionError(f"could not reach Deepgram: {type(e).__name__}: {e}") from e
        return _batch_event(response, lang)

    async def aclose(self) -> None:
        for stream in list(self._streams):
            await stream.aclose()
        if self._http is not None:
            await self._http.aclose()
        self._client = self._http = self._client_loop = None


def _batch_event(response: object, language: str) -> agents_stt.SpeechEvent:
    """One FINAL_TRANSCRIPT event from a prerecorded response."""
    if not isinstance(response, ListenV1Response):
        raise APIConnectionError(
            "Deepgram accepted the request for a callback instead of answering it", retryable=False
        )
    alternatives: list[agents_stt.SpeechData] = []
    channels = response.results.channels
    if channels:
        detected = getattr(channels[0], "detected_language", None)
        for alt in channels[0].alternatives or []:
            words = alt.words or []
            alternatives.append(
                agents_stt.SpeechData(
                    language=detected or language,
                    text=alt.transcript or "",
                    start_time=words[0].start if words else 0.0,
                    end_time=words[-1].end if words else 0.0,
                    confidence=alt.confidence or 0.0,
                )
            )
    if not alternatives:
        alternatives.append(agents_stt.SpeechData(language=language, text=""))
    return agents_stt.SpeechEvent(
        type=agents_stt.SpeechEventType.FINAL_TRANSCRIPT,
        request_id=response.metadata.request_id or "",
        alternatives=alternatives,
    )
