"""Utilities shared by core and plugins."""

from __future__ import annotations

from . import aio, audio
from .audio import AudioBuffer, AudioByteStream, AudioConverter, merge_frames
from .event_emitter import EventEmitter
from .misc import is_dev_mode, shortuuid, time_ms

__all__ = [
    "AudioBuffer",
    "AudioByteStream",
    "AudioConverter",
    "EventEmitter",
    "aio",
    "audio",
    "is_dev_mode",
    "merge_frames",
    "shortuuid",
    "time_ms",
]
