"""Provider base URLs: from a ``base_url=`` argument or an environment variable, checked.

Plugins call :func:`resolve_base_url` so every provider behaves the same: the argument wins,
then the variable (blank counts as unset), then the provider's own server. A bad value raises
``ValueError`` naming where it came from, never repeating the value (a key pasted into the
wrong variable must not reach a log).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

__all__ = ["HTTP", "HTTP_OR_WS", "check_base_url", "http_and_ws", "resolve_base_url"]

HTTP = ("http", "https")
HTTP_OR_WS = ("http", "https", "ws", "wss")
ENV_NOTE = " (read when base_url= is not given)"

_TO_HTTP = {"http": "http", "https": "https", "ws": "http", "wss": "https"}
_TO_WS = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}


def check_base_url(
    value: str,
    *,
    expected: str,
    schemes: Sequence[str] = HTTP,
    strip_suffixes: Sequence[str] = (),
    source: str = "base_url",
    note: str = "",
) -> str:
    """``value`` without surrounding spaces, a trailing ``/`` or the first of ``strip_suffixes``
    it ends with, and with a lower-case scheme.

    Raises ``ValueError("<source> must be <expected>, but <problem><note>")`` unless it is an
    absolute URL with one of ``schemes``, a host and a numeric port.
    """
    url = value.strip().rstrip("/")
    for suffix in strip_suffixes:
        if url.endswith(suffix):
            url = url[: -len(suffix)]
            break
    parts = urlsplit(url)
    problem = ""
    if parts.scheme.lower() not in schemes:
        starts = [f"{s}://" for s in schemes]
        either = starts[0] if len(starts) == 1 else f"{', '.join(starts[:-1])} or {starts[-1]}"
        problem = f"it does not start with {either}"
    elif not parts.hostname:
        problem = "it has no host"
    else:
        try:
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            problem = "its port is not a number between 0 and 65535"
    if problem:
        raise ValueError(f"{source} must be {expected}, but {problem}{note}")
    return urlunsplit(parts._replace(scheme=parts.scheme.lower()))


def resolve_base_url(
    base_url: str | None,
    *,
    env_var: str,
    default: str,
    expected: str,
    schemes: Sequence[str] = HTTP,
    strip_suffixes: Sequence[str] = (),
) -> str:
    """``base_url``, else ``$<env_var>``, else ``default``, checked by :func:`check_base_url`."""
    value, source, note = default, "base_url", ""
    if base_url and base_url.strip():
        value = base_url
    elif from_env := os.environ.get(env_var, "").strip():
        value, source, note = from_env, env_var, ENV_NOTE
    return check_base_url(value, expected=expected, schemes=schemes,
                          strip_suffixes=strip_suffixes, source=source, note=note)


def http_and_ws(url: str) -> tuple[str, str]:
    """``(http_base, ws_base)`` of a checked URL given with http, https, ws or wss."""
    scheme, _, rest = url.partition("://")
    return f"{_TO_HTTP[scheme]}://{rest}", f"{_TO_WS[scheme]}://{rest}"
