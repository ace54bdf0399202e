"""The resolved settings of an STT instance, and the URLs they lead to."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

from livekit.agents import MissingCredentialsError

Profanity = Literal["masked", "removed", "raw"]
Mode = Literal["conversation", "interactive", "dictation"]

_REGION_RE = re.compile(r"^[a-z0-9]+$")


def resolve_key(api_key: str | None) -> str:
    """The key from ``api_key`` or ``AZURE_SPEECH_KEY``; raise MissingCredentialsError without one."""
    key = api_key or os.environ.get("AZURE_SPEECH_KEY")
    if not key:
        raise MissingCredentialsError(
            "Azure Speech needs a key and a region: set AZURE_SPEECH_KEY and AZURE_SPEECH_REGION, "
            "or pass api_key= (and region= or base_url=)",
            env_var="AZURE_SPEECH_KEY",
        )
    return key


def resolve_base_url(
    base_url: str | None, region: str | None, *, service: Literal["stt", "tts"]
) -> str:
    """``base_url`` as given, or the regional endpoint of ``service`` (region from the environment)."""
    if base_url:
        return normalize_base_url(base_url)
    region = (region or os.environ.get("AZURE_SPEECH_REGION") or "").strip().lower()
    if not region:
        raise MissingCredentialsError(
            "Azure Speech needs a region: set AZURE_SPEECH_REGION (e.g. 'westus'), "
            "or pass region= or base_url=",
            env_var="AZURE_SPEECH_REGION",
        )
    if not _REGION_RE.match(region):
        raise ValueError(f"invalid Azure region {region!r}: expected a name such as 'westus'")
    return f"https://{region}.{service}.speech.microsoft.com"


def normalize_base_url(base_url: str) -> str:
    """``scheme://host[/prefix]`` without a trailing ``/``; http(s) and ws(s) are all accepted."""
    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
        raise ValueError(
            f"base_url must be a URL such as 'https://westus.stt.speech.microsoft.com', got {base_url!r}"
        )
    return url


@dataclass
class STTOptions:
    api_key: str
    base_url: str
    language: str
    sample_rate: int
    profanity: Profanity
    mode: Mode

    def _url(self, schemes: dict[str, str], language: str) -> str:
        parts = urlsplit(self.base_url)
        base = urlunsplit(parts._replace(scheme=schemes.get(parts.scheme, parts.scheme)))
        query = urlencode({"language": language, "format": "detailed", "profanity": self.profanity})
        return f"{base}/speech/recognition/{self.mode}/cognitiveservices/v1?{query}"

    def ws_url(self, language: str) -> str:
        return self._url({"http": "ws", "https": "wss"}, language)

    def rest_url(self, language: str) -> str:
        return self._url({"ws": "http", "wss": "https"}, language)
