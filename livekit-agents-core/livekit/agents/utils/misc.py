"""Small helpers with no better home."""

from __future__ import annotations

import os
import secrets
import string
import time

__all__ = ["is_dev_mode", "shortuuid", "time_ms"]

_ALPHABET = string.ascii_letters + string.digits


def shortuuid(prefix: str = "") -> str:
    """A 12-character random id, optionally prefixed (``shortuuid("item_")``)."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(12))


def time_ms() -> int:
    return int(time.time() * 1000)


def is_dev_mode() -> bool:
    """True in ``console`` and ``dev`` runs (``LIVEKIT_DEV_MODE=1``)."""
    return os.environ.get("LIVEKIT_DEV_MODE") == "1"
