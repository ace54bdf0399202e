"""The parts of ``deepgram-sdk`` this plugin uses, imported in one place.

The SDK's websocket layer is built on the ``websockets.legacy`` client, which warns about its
own deprecation on import; that warning is not actionable for users of this plugin, so it is
silenced here (and only here).
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from deepgram.client import AsyncDeepgramClient
    from deepgram.core.api_error import ApiError
    from deepgram.environment import DeepgramClientEnvironment
    from deepgram.listen.v1 import (
        ListenV1Error,
        ListenV1Metadata,
        ListenV1Results,
        ListenV1SpeechStarted,
        ListenV1UtteranceEnd,
    )
    from deepgram.listen.v1.raw_client import AsyncRawV1Client  # noqa: F401  (loads the ws client)
    from deepgram.types import ListenV1Response

__all__ = [
    "ApiError",
    "AsyncDeepgramClient",
    "DeepgramClientEnvironment",
    "ListenV1Error",
    "ListenV1Metadata",
    "ListenV1Response",
    "ListenV1Results",
    "ListenV1SpeechStarted",
    "ListenV1UtteranceEnd",
]
