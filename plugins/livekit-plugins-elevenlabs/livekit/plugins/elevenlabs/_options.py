"""The resolved settings of a TTS instance, and the URLs they lead to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from livekit.agents.utils import base_url as base_urls

from .models import VoiceSettings, output_format

DEFAULT_BASE_URL = "https://api.elevenlabs.io"
#: the server when no ``base_url`` is given (the SDK defines none; its key is ELEVENLABS_API_KEY)
BASE_URL_ENV = "ELEVENLABS_BASE_URL"

TextNormalization = Literal["auto", "on", "off"]


def resolve_base_url(base_url: str | None) -> str:
    """``base_url``, else ``$ELEVENLABS_BASE_URL``, else ElevenLabs' own server, as
    ``https://host[/prefix]`` without a trailing ``/`` or ``/v1`` (both spellings are accepted).

    A bad value raises ``ValueError`` naming where it came from, never repeating the value.
    """
    url: str = base_urls.resolve_base_url(
        base_url, env_var=BASE_URL_ENV, default=DEFAULT_BASE_URL, schemes=base_urls.HTTP_OR_WS,
        strip_suffixes=("/v1",), expected=f"an http(s) or ws(s) URL such as {DEFAULT_BASE_URL!r}",
    )
    return url


@dataclass
class TTSOptions:
    api_key: str
    base_url: str
    voice: str
    model: str
    sample_rate: int
    voice_settings: VoiceSettings | None
    language: str | None
    auto_mode: bool
    chunk_length_schedule: list[int] | None
    inactivity_timeout: int
    enable_logging: bool
    apply_text_normalization: TextNormalization

    @property
    def output_format(self) -> str:
        return output_format(self.sample_rate)

    @property
    def http_base(self) -> str:
        return _with_scheme(self.base_url, {"ws": "http", "wss": "https"})

    def stream_input_url(self) -> str:
        """The single-context streaming-input websocket of the voice."""
        query: dict[str, str] = {
            "model_id": self.model,
            "output_format": self.output_format,
            "inactivity_timeout": str(self.inactivity_timeout),
            "enable_logging": _bool(self.enable_logging),
            "apply_text_normalization": self.apply_text_normalization,
        }
        if self.auto_mode:
            query["auto_mode"] = "true"
        if self.language:
            query["language_code"] = self.language
        base = _with_scheme(self.base_url, {"http": "ws", "https": "wss"})
        return (
            f"{base}/v1/text-to-speech/{quote(self.voice, safe='')}/stream-input?{urlencode(query)}"
        )


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _with_scheme(url: str, mapping: dict[str, str]) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=mapping.get(parts.scheme, parts.scheme)))
