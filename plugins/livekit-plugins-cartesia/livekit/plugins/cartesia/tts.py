"""Cartesia text-to-speech: ``synthesize()`` over ``/tts/bytes``, ``stream()`` over websockets.

``synthesize()`` uses the official SDK (``AsyncCartesia``, retries off so the framework's
policy applies) and streams the raw PCM body as it arrives. ``stream()`` speaks the documented
websocket protocol directly (see :mod:`._stream` and the README for why), with the SDK's
credentials and API version headers.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import httpx

import cartesia
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectionError,
    APIConnectOptions,
    APITimeoutError,
    MissingCredentialsError,
)
from livekit.agents import tts as agents_tts
from livekit.agents.utils import shortuuid

from . import _utils
from .models import DEFAULT_LANGUAGE, DEFAULT_MODEL, DEFAULT_VOICE, SAMPLE_RATES

if TYPE_CHECKING:
    from ._stream import SynthesizeStream

__all__ = ["TTS", "ChunkedStream", "TTSOptions"]

#: Frames handed to the session (short, so the first audio is not held back).
FRAME_MS = 20
#: Headers of the SDK client that the websocket handshake reuses.
_WS_HEADERS = ("authorization", "cartesia-version", "x-cartesia-client")


@dataclass(frozen=True)
class TTSOptions:
    """The generation request shared by both transports."""

    model: str
    voice: str
    language: str | None
    sample_rate: int
    generation_config: Mapping[str, Any] | None = None
    pronunciation_dict_id: str | None = None
    max_buffer_delay_ms: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def request(self) -> dict[str, Any]:
        """The fields every generation request carries (no transcript)."""
        body: dict[str, Any] = {
            "model_id": self.model,
            "voice": {"mode": "id", "id": self.voice},
            "output_format": {
                "container": "raw",
                "encoding": "pcm_s16le",
                "sample_rate": self.sample_rate,
            },
        }
        if self.language:
            body["language"] = self.language
        if self.generation_config:
            body["generation_config"] = dict(self.generation_config)
        if self.pronunciation_dict_id:
            body["pronunciation_dict_id"] = self.pronunciation_dict_id
        body.update(self.extra)
        return body


class TTS(agents_tts.TTS):
    """Cartesia Sonic TTS, raw 16-bit PCM out.

    Resolved from ``"cartesia/<model>[:<voice id>]"`` (e.g. ``"cartesia/sonic-2"``).
    """

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        voice: str = DEFAULT_VOICE,
        language: str | None = DEFAULT_LANGUAGE,
        sample_rate: int = 24000,
        api_key: str | None = None,
        base_url: str | None = None,
        generation_config: Mapping[str, Any] | None = None,
        pronunciation_dict_id: str | None = None,
        max_buffer_delay_ms: int | None = None,
        extra_request: Mapping[str, Any] | None = None,
    ) -> None:
        """Create a Cartesia TTS.

        ``voice`` is a Cartesia voice id; ``language`` the transcript's language (None lets
        the API decide). ``api_key`` defaults to ``$CARTESIA_API_KEY`` and ``base_url`` to
        ``$CARTESIA_BASE_URL``, else Cartesia's cloud (ws and http are derived from it).
        ``generation_config`` (sonic-3: speed, volume, emotion) and ``pronunciation_dict_id``
        are passed through; ``max_buffer_delay_ms`` (0-5000) bounds how long the server
        buffers streamed text before it starts speaking (its default applies when None).
        ``extra_request`` adds fields to every generation request.
        """
        if sample_rate not in SAMPLE_RATES:
            raise ValueError(
                f"Cartesia outputs raw PCM at {', '.join(map(str, SAMPLE_RATES))} Hz; "
                f"got sample_rate={sample_rate}"
            )
        super().__init__(
            capabilities=agents_tts.TTSCapabilities(streaming=True),
            sample_rate=sample_rate,
            num_channels=1,
        )
        key = api_key or os.environ.get(_utils.API_KEY_ENV)
        if not key:
            raise MissingCredentialsError(
                f"Cartesia needs an API key: set {_utils.API_KEY_ENV} or pass api_key=",
                env_var=_utils.API_KEY_ENV,
            )
        if not model:
            raise ValueError("model must be a Cartesia model id such as 'sonic-2'")
        if not voice:
            raise ValueError("voice must be a Cartesia voice id")
        if max_buffer_delay_ms is not None and not 0 <= max_buffer_delay_ms <= 5000:
            raise ValueError(f"max_buffer_delay_ms must be within 0-5000, got {max_buffer_delay_ms}")
        self._api_key = key
        self._http_base, self._ws_base = _utils.resolve_base_url(base_url)
        self._opts = TTSOptions(
            model=model,
            voice=voice,
            language=language,
            sample_rate=sample_rate,
            generation_config=dict(generation_config) if generation_config else None,
            pronunciation_dict_id=pronunciation_dict_id,
            max_buffer_delay_ms=max_buffer_delay_ms,
            extra=dict(extra_request or {}),
        )
        self._client: cartesia.AsyncCartesia | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._streams: weakref.WeakSet[SynthesizeStream] = weakref.WeakSet()

    @property
    def model(self) -> str:
        return self._opts.model

    @property
    def provider(self) -> str:
        return "cartesia"

    @property
    def voice(self) -> str:
        return self._opts.voice

    @property
    def options(self) -> TTSOptions:
        return self._opts

    def update_options(
        self,
        *,
        model: str | None = None,
        voice: str | None = None,
        language: str | None = None,
        generation_config: Mapping[str, Any] | None = None,
    ) -> None:
        """Change what the next synthesis uses (streams already running keep theirs)."""
        changes: dict[str, Any] = {}
        if model:
            changes["model"] = model
        if voice:
            changes["voice"] = voice
        if language:
            changes["language"] = language
        if generation_config is not None:
            changes["generation_config"] = dict(generation_config)
        self._opts = replace(self._opts, **changes)

    def _ensure_client(self) -> cartesia.AsyncCartesia:
        """The SDK client, created in (and for) the running event loop."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = cartesia.AsyncCartesia(
                api_key=self._api_key, base_url=self._http_base, max_retries=0
            )
            self._client_loop = loop
        return self._client

    def _ws_target(self) -> tuple[str, dict[str, str], str]:
        """URL, headers and user agent of the websocket handshake (as the SDK would send)."""
        client = self._ensure_client()
        headers = {
            k: v
            for k, v in client.default_headers.items()
            if isinstance(v, str) and k.lower() in _WS_HEADERS
        }
        return f"{self._ws_base}/tts/websocket", headers, client.user_agent

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        return ChunkedStream(tts=self, input_text=text, conn_options=conn_options)

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> SynthesizeStream:
        from ._stream import SynthesizeStream

        stream = SynthesizeStream(tts=self, opts=self._opts, conn_options=conn_options)
        self._streams.add(stream)
        return stream

    async def aclose(self) -> None:
        for stream in list(self._streams):
            await stream.aclose()
        if self._client is not None:
            await self._client.close()
        self._client = self._client_loop = None


class ChunkedStream(agents_tts.ChunkedStream):
    """One text over ``POST /tts/bytes``; PCM is pushed as the body streams in."""

    def __init__(self, *, tts: TTS, input_text: str, conn_options: APIConnectOptions) -> None:
        self._cartesia = tts
        self._opts = tts.options
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)

    async def _run(self, output_emitter: agents_tts.AudioEmitter) -> None:
        if not self.input_text.strip():
            return
        client = self._cartesia._ensure_client()
        body = self._opts.request()
        timeout = self._conn_options.timeout
        try:
            async with client.tts.with_streaming_response.generate(
                model_id=body.pop("model_id"),
                voice=body.pop("voice"),
                output_format=body.pop("output_format"),
                transcript=self.input_text,
                extra_body=body or None,
                timeout=timeout,
            ) as response:
                output_emitter.initialize(
                    request_id=response.headers.get("x-request-id") or shortuuid("req_"),
                    sample_rate=self._opts.sample_rate,
                    num_channels=1,
                    mime_type="audio/pcm",
                    frame_size_ms=FRAME_MS,
                )
                async for chunk in response.iter_bytes():
                    output_emitter.push(chunk)
        except cartesia.APIStatusError as e:
            raise _utils.status_error(
                e.status_code, what="synthesis request", headers=e.response.headers, body=e.body
            ) from None
        except (cartesia.APITimeoutError, httpx.TimeoutException):
            raise APITimeoutError(f"Cartesia did not answer within {timeout:.1f}s") from None
        except (cartesia.APIConnectionError, httpx.HTTPError) as e:
            raise APIConnectionError(
                f"the Cartesia request failed: {type(e).__name__}: {e}"
            ) from None
