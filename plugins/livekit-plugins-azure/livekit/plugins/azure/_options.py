"""The resolved settings of an STT instance, and the URLs they lead to."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

from livekit.agents import MissingCredentialsError
from livekit.agents.utils import base_url as base_urls

Profanity = Literal["masked", "removed", "raw"]
Mode = Literal["conversation", "interactive", "dictation"]

_REGION_RE = re.compile(r"^[a-z0-9]+$")


#: a custom host for STT and TTS when no ``base_url``/``region`` is given (the name LiveKit's
#: Azure plugin reads for the Speech SDK's ``host=``: a container, private endpoint or proxy)
HOST_ENV = "AZURE_SPEECH_HOST"
KEY_ENV = "AZURE_SPEECH_KEY"
REGION_ENV = "AZURE_SPEECH_REGION"


def resolve_key(api_key: str | None) -> str:
    """The key from ``api_key`` or ``AZURE_SPEECH_KEY``; raise MissingCredentialsError without one."""
    key = api_key or os.environ.get(KEY_ENV)
    if not key:
        raise MissingCredentialsError(
            f"Azure Speech needs a key and a region: set {KEY_ENV} and {REGION_ENV} "
            f"(or {HOST_ENV}), or pass api_key= (and region= or base_url=)",
            env_var=KEY_ENV,
        )
    return key


def resolve_base_url(
    base_url: str | None, region: str | None, *, service: Literal["stt", "tts"]
) -> str:
    """Where ``service`` is: the first of ``base_url``, ``region``, ``$AZURE_SPEECH_HOST`` and
    ``$AZURE_SPEECH_REGION`` that is set (arguments win over the environment).

    A bad host raises ``ValueError`` naming where it came from; the value itself is not
    repeated (a key pasted into the wrong variable must not end up in a log).
    """
    if base_url and base_url.strip():
        return _check_host(base_url)
    if not (region and region.strip()):
        host = os.environ.get(HOST_ENV, "").strip()
        if host:
            return _check_host(
                host, source=HOST_ENV, note=" (read when neither base_url= nor region= is given)"
            )
    region = (region or os.environ.get(REGION_ENV) or "").strip().lower()
    if not region:
        raise MissingCredentialsError(
            f"Azure Speech needs a region: set {REGION_ENV} (e.g. 'westus') or {HOST_ENV}, "
            "or pass region= or base_url=",
            env_var=REGION_ENV,
        )
    if not _REGION_RE.match(region):
        raise ValueError(f"invalid Azure region {region!r}: expected a name such as 'westus'")
    return f"https://{region}.{service}.speech.microsoft.com"


def _check_host(base_url: str, *, source: str = "base_url", note: str = "") -> str:
    """``scheme://host[/prefix]`` without a trailing ``/``; http(s) and ws(s) are all accepted."""
    url: str = base_urls.check_base_url(
        base_url, schemes=base_urls.HTTP_OR_WS, source=source, note=note,
        expected="a URL such as 'https://westus.stt.speech.microsoft.com' or 'ws://localhost:5000'",
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
