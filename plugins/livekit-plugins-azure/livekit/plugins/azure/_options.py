"""The resolved settings of an STT instance, and the URLs they lead to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

Profanity = Literal["masked", "removed", "raw"]
Mode = Literal["conversation", "interactive", "dictation"]

_REGION_RE = re.compile(r"^[a-z0-9]+$")


def region_base_url(region: str) -> str:
    region = region.strip().lower()
    if not _REGION_RE.match(region):
        raise ValueError(f"invalid Azure region {region!r}: expected a name such as 'westus'")
    return f"https://{region}.stt.speech.microsoft.com"


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
