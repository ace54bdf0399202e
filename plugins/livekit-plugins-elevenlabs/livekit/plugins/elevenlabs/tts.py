"""ElevenLabs text-to-speech: streamed text over the streaming-input websocket, whole texts over REST."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import aiohttp

from livekit.agents import MissingCredentialsError
from livekit.agents.tts import TTS as _TTS
from livekit.agents.tts import ChunkedStream, SynthesizeStream, TTSCapabilities
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions

from . import _rest
from ._options import TextNormalization, TTSOptions, resolve_base_url
from ._stream import StreamInputStream
from .models import (
    DEFAULT_MODEL,
    DEFAULT_VOICE_ID,
    NON_STREAMING_MODELS,
    VoiceSettings,
    output_format,
    resolve_model,
)

if TYPE_CHECKING:
    import httpx

    from elevenlabs.client import AsyncElevenLabs

__all__ = ["TTS"]

API_KEY_ENV_VARS = ("ELEVEN_API_KEY", "ELEVENLABS_API_KEY")


class TTS(_TTS):
    """ElevenLabs TTS producing 16-bit mono PCM.

    ``voice`` is a voice id; ``model`` a model id or a short name (``flash-v2.5``,
    ``multilingual-v2``...). The key comes from ``api_key`` or ``ELEVEN_API_KEY`` /
    ``ELEVENLABS_API_KEY``; ``base_url`` (else ``ELEVENLABS_BASE_URL``) points the plugin at a
    compatible server or a proxy.
    ``auto_mode`` and ``chunk_length_schedule`` tune how the server buffers streamed text.
    """

    def __init__(
        self,
        *,
        voice: str = DEFAULT_VOICE_ID,
        model: str = DEFAULT_MODEL,
        api_key: str | None = None,
        base_url: str | None = None,
        sample_rate: int = 24000,
        voice_settings: VoiceSettings | Mapping[str, Any] | None = None,
        language: str | None = None,
        auto_mode: bool = False,
        chunk_length_schedule: Sequence[int] | None = None,
        inactivity_timeout: int = 180,
        enable_logging: bool = True,
        apply_text_normalization: TextNormalization = "auto",
        http_session: aiohttp.ClientSession | None = None,
    ) -> None:
        key = api_key or next((os.environ[v] for v in API_KEY_ENV_VARS if os.environ.get(v)), None)
        if not key:
            raise MissingCredentialsError(
                "ElevenLabs needs an API key: set ELEVEN_API_KEY (or ELEVENLABS_API_KEY), "
                "or pass api_key=",
                env_var="ELEVEN_API_KEY",
            )
        if not voice or not voice.strip():
            raise ValueError("voice must be an ElevenLabs voice id")
        output_format(sample_rate)  # validates the rate
        if chunk_length_schedule is not None and not all(
            50 <= n <= 500 for n in chunk_length_schedule
        ):
            raise ValueError("chunk_length_schedule values must be between 50 and 500 characters")
        if not 1 <= inactivity_timeout <= 180:
            raise ValueError("inactivity_timeout must be between 1 and 180 seconds")
        if isinstance(voice_settings, Mapping):
            voice_settings = VoiceSettings(**voice_settings)
        model_id = resolve_model(model)
        super().__init__(
            capabilities=TTSCapabilities(streaming=model_id not in NON_STREAMING_MODELS),
            sample_rate=sample_rate,
            num_channels=1,
        )
        self._opts = TTSOptions(
            api_key=key,
            base_url=resolve_base_url(base_url),
            voice=voice.strip(),
            model=model_id,
            sample_rate=sample_rate,
            voice_settings=voice_settings,
            language=language,
            auto_mode=auto_mode,
            chunk_length_schedule=list(chunk_length_schedule) if chunk_length_schedule else None,
            inactivity_timeout=inactivity_timeout,
            enable_logging=enable_logging,
            apply_text_normalization=apply_text_normalization,
        )
        self._session = http_session
        self._owns_session = http_session is None
        self._http_client: httpx.AsyncClient | None = None
        self._client: AsyncElevenLabs | None = None

    @property
    def model(self) -> str:
        return self._opts.model

    @property
    def provider(self) -> str:
        return "elevenlabs"

    @property
    def voice(self) -> str:
        return self._opts.voice

    def update_options(
        self,
        *,
        voice: str | None = None,
        voice_settings: VoiceSettings | None = None,
        language: str | None = None,
    ) -> None:
        """Change the voice or its settings for the next requests."""
        if voice:
            self._opts.voice = voice.strip()
        if voice_settings is not None:
            self._opts.voice_settings = voice_settings
        if language is not None:
            self._opts.language = language or None

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        return _rest.RestChunkedStream(tts=self, input_text=text, conn_options=conn_options)

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> SynthesizeStream:
        if not self.capabilities.streaming:
            return super().stream(conn_options=conn_options)
        return StreamInputStream(tts=self, conn_options=conn_options)

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    def _ensure_client(self) -> AsyncElevenLabs:
        if self._client is None:
            import httpx

            self._http_client = httpx.AsyncClient(follow_redirects=True)
            self._client = _rest.make_client(self._opts, self._http_client)
        return self._client

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None
        if self._http_client is not None:
            await self._http_client.aclose()
        self._http_client = None
        self._client = None
