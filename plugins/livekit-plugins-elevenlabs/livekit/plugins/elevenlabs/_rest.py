"""One-shot synthesis over the REST streaming endpoint, through the official ``elevenlabs`` SDK.

``POST /v1/text-to-speech/{voice}/stream?output_format=pcm_<rate>`` answers with a chunked body
of raw PCM, pushed to the emitter as it arrives. The SDK's own retries are disabled
(``max_retries=0``) so the framework's retry policy, which honours ``Retry-After`` and hands over
to fallback providers, is the only one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from elevenlabs import VoiceSettings as _SDKVoiceSettings
from elevenlabs.client import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError
from livekit.agents import APIConnectionError, APIConnectOptions, APITimeoutError
from livekit.agents.tts import AudioEmitter, ChunkedStream
from livekit.agents.utils import shortuuid

from ._errors import http_error

if TYPE_CHECKING:
    from ._options import TTSOptions
    from .tts import TTS


def make_client(opts: TTSOptions, http_client: httpx.AsyncClient) -> AsyncElevenLabs:
    return AsyncElevenLabs(api_key=opts.api_key, base_url=opts.http_base, httpx_client=http_client)


class RestChunkedStream(ChunkedStream):
    """The audio of one text, streamed from the REST endpoint."""

    def __init__(self, *, tts: TTS, input_text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._el = tts

    async def _run(self, output_emitter: AudioEmitter) -> None:
        opts = self._el._opts
        timeout = self._conn_options.timeout
        if not output_emitter.initialized:
            output_emitter.initialize(
                request_id=shortuuid("el_"),
                sample_rate=opts.sample_rate,
                num_channels=1,
                mime_type="audio/pcm",
            )
        settings = opts.voice_settings.to_json() if opts.voice_settings else None
        # the SDK types the timeout as int; httpx takes the float as it is
        request_options: Any = {"max_retries": 0, "timeout_in_seconds": timeout}
        extra: dict[str, Any] = {}
        if opts.language:
            extra["language_code"] = opts.language
        try:
            audio = self._el._ensure_client().text_to_speech.stream(
                opts.voice,
                text=self.input_text,
                model_id=opts.model,
                output_format=opts.output_format,  # type: ignore[arg-type]
                voice_settings=_SDKVoiceSettings(**settings) if settings else None,
                enable_logging=opts.enable_logging,
                apply_text_normalization=opts.apply_text_normalization,
                request_options=request_options,
                **extra,
            )
            async for chunk in audio:
                output_emitter.push(chunk)
        except ApiError as e:
            raise http_error(e.status_code or 0, e.headers, e.body) from None
        except httpx.TimeoutException:
            raise APITimeoutError(f"ElevenLabs sent nothing for {timeout:.1f}s") from None
        except httpx.HTTPError as e:
            raise APIConnectionError(f"ElevenLabs request failed: {type(e).__name__}") from e
