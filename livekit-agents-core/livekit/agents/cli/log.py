"""Logging for the CLI: readable lines in a terminal, JSON lines in production."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

__all__ = ["setup"]

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

#: third-party loggers that are noisy at debug level
_NOISY = ("httpx", "httpcore", "openai", "anthropic", "websockets", "aiohttp.access", "livekit",
          "urllib3", "watchfiles", "asyncio", "mcp", "botocore")

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "level": record.levelname,
            "name": record.name,
            "message": record.getMessage(),
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
        }
        for k, v in vars(record).items():
            if k not in _RESERVED and not k.startswith("_"):
                out[k] = v if isinstance(v, (str, int, float, bool, type(None))) else repr(v)
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(out)


def setup(level: str, *, dev: bool = False, console: bool = False) -> None:
    """Configure the root logger once for a CLI command."""
    name = {"WARN": "WARNING"}.get(level.upper(), level.upper())
    numeric = TRACE if name == "TRACE" else getattr(logging, name, logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    if dev or console or sys.stderr.isatty():
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-5s %(name)s: %(message)s", "%H:%M:%S"))
    else:
        handler.setFormatter(_JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for noisy in _NOISY:
        logger = logging.getLogger(noisy)
        if logger.level == logging.NOTSET:
            logger.setLevel(max(numeric, logging.WARNING))
    # "livekit" (the rtc SDK) is quiet, but the framework and its plugins log at the chosen level
    for ours in ("livekit.agents", "livekit.plugins"):
        logging.getLogger(ours).setLevel(numeric)
