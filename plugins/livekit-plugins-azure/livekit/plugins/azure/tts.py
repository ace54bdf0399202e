"""Azure AI Speech text-to-speech over the REST endpoint, with raw PCM output.

``POST https://<region>.tts.speech.microsoft.com/cognitiveservices/v1`` with an SSML body and
``X-Microsoft-OutputFormat: raw-24khz-16bit-mono-pcm``; the response body is raw PCM, pushed as it
arrives. The endpoint takes whole texts, so ``capabilities.streaming`` is False and a voice session
synthesizes sentence by sentence.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import aiohttp

from livekit.agents import APIConnectionError, APITimeoutError
from livekit.agents.tts import TTS as _TTS
from livekit.agents.tts import AudioEmitter, ChunkedStream, TTSCapabilities
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions
from livekit.agents.utils import shortuuid

from ._errors import http_error
from ._options import resolve_base_url, resolve_key

__all__ = ["TTS"]

DEFAULT_VOICE = "en-US-JennyNeural"

#: sample rate -> the ``X-Microsoft-OutputFormat`` of 16-bit mono PCM at that rate
OUTPUT_FORMATS = {
    8000: "raw-8khz-16bit-mono-pcm",
    16000: "raw-16khz-16bit-mono-pcm",
    22050: "raw-22050hz-16bit-mono-pcm",
    24000: "raw-24khz-16bit-mono-pcm",
    44100: "raw-44100hz-16bit-mono-pcm",
    48000: "raw-48khz-16bit-mono-pcm",
}

_LOCALE_RE = re.compile(r"^([a-z]{2,3}-[A-Za-z0-9]{2,4})-")


@dataclass
class _Options:
    api_key: str
    base_url: str
    voice: str
    language: str
    sample_rate: int
    rate: str | None
    pitch: str | None
    volume: str | None
    style: str | None

    @property
    def url(self) -> str:
        base = self.base_url
        for ws, http in (("wss://", "https://"), ("ws://", "http://")):
            if base.startswith(ws):
                base = http + base[len(ws) :]
        return f"{base}/cognitiveservices/v1"


class TTS(_TTS):
    """Azure neural voices through the REST endpoint (16-bit mono PCM).

    ``voice`` is a voice name (``en-US-JennyNeural``). The key comes from ``api_key`` or
    ``AZURE_SPEECH_KEY``; the service from ``base_url``, else ``region``, else
    ``AZURE_SPEECH_HOST``, else ``AZURE_SPEECH_REGION`` (as for :class:`STT`).
    ``rate``, ``pitch`` and ``volume`` are SSML prosody values (``"+10%"``, ``"-2st"``, ``"loud"``);
    ``style`` an ``mstts:express-as`` style for voices that have styles.
    """

    def __init__(
        self,
        *,
        voice: str = DEFAULT_VOICE,
        language: str | None = None,
        api_key: str | None = None,
        region: str | None = None,
        base_url: str | None = None,
        sample_rate: int = 24000,
        rate: str | None = None,
        pitch: str | None = None,
        volume: str | None = None,
        style: str | None = None,
        http_session: aiohttp.ClientSession | None = None,
    ) -> None:
        if sample_rate not in OUTPUT_FORMATS:
            rates = ", ".join(str(r) for r in OUTPUT_FORMATS)
            raise ValueError(f"Azure TTS outputs PCM at {rates} Hz, got sample_rate={sample_rate}")
        key = resolve_key(api_key)
        url = resolve_base_url(base_url, region, service="tts")
        voice = voice.strip()
        if not voice:
            raise ValueError("voice must be an Azure voice name such as 'en-US-JennyNeural'")
        if language is None:
            m = _LOCALE_RE.match(voice)
            language = m.group(1) if m else "en-US"
        super().__init__(
            capabilities=TTSCapabilities(streaming=False), sample_rate=sample_rate, num_channels=1
        )
        self._opts = _Options(
            api_key=key,
            base_url=url,
            voice=voice,
            language=language,
            sample_rate=sample_rate,
            rate=rate,
            pitch=pitch,
            volume=volume,
            style=style,
        )
        self._session = http_session
        self._owns_session = http_session is None

    @property
    def model(self) -> str:
        return "neural"

    @property
    def provider(self) -> str:
        return "azure"

    @property
    def voice(self) -> str:
        return self._opts.voice

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        return _ChunkedStream(tts=self, input_text=text, conn_options=conn_options)

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None


def build_ssml(text: str, opts: _Options) -> str:
    """The SSML document for ``text`` (escaped) in the configured voice and prosody."""
    body = escape(text)
    prosody = {
        k: v for k, v in (("rate", opts.rate), ("pitch", opts.pitch), ("volume", opts.volume)) if v
    }
    if prosody:
        attrs = "".join(f" {k}={quoteattr(v)}" for k, v in prosody.items())
        body = f"<prosody{attrs}>{body}</prosody>"
    if opts.style:
        body = f"<mstts:express-as style={quoteattr(opts.style)}>{body}</mstts:express-as>"
    return (
        '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" '
        f'xmlns:mstts="https://www.w3.org/2001/mstts" xml:lang={quoteattr(opts.language)}>'
        f"<voice name={quoteattr(opts.voice)}>{body}</voice></speak>"
    )


class _ChunkedStream(ChunkedStream):
    def __init__(self, *, tts: TTS, input_text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._az = tts

    async def _run(self, output_emitter: AudioEmitter) -> None:
        opts = self._az._opts
        timeout = self._conn_options.timeout
        headers = {
            "Ocp-Apim-Subscription-Key": opts.api_key,
            "Content-Type": "application/ssml+xml",
            "X-Microsoft-OutputFormat": OUTPUT_FORMATS[opts.sample_rate],
            "User-Agent": "livekit-agents",
        }
        try:
            async with self._az._ensure_session().post(
                opts.url,
                data=build_ssml(self.input_text, opts).encode("utf-8"),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
            ) as resp:
                if resp.status != 200:
                    raise http_error(resp.status, resp.headers, (await resp.text())[:300])
                if not output_emitter.initialized:
                    output_emitter.initialize(
                        request_id=resp.headers.get("X-RequestId") or shortuuid("az_"),
                        sample_rate=opts.sample_rate,
                        num_channels=1,
                        mime_type="audio/pcm",
                    )
                async for chunk in resp.content.iter_any():
                    output_emitter.push(chunk)
        except asyncio.TimeoutError:
            raise APITimeoutError(f"Azure TTS sent nothing for {timeout:.1f}s") from None
        except aiohttp.ClientError as e:
            raise APIConnectionError(f"Azure TTS request failed: {type(e).__name__}") from e
