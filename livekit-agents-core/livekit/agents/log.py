"""Loggers of the framework. Plugins log under ``livekit.plugins.<name>``."""

from __future__ import annotations

import logging

logger = logging.getLogger("livekit.agents")

__all__ = ["logger"]
