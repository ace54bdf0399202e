"""Well-known Deepgram model ids (any other id is passed through to the API)."""

from __future__ import annotations

#: Streaming-capable speech-to-text models (``deepgram/<model>``).
STT_MODELS: tuple[str, ...] = (
    "nova-3",
    "nova-3-general",
    "nova-3-medical",
    "nova-2",
    "nova-2-general",
    "nova-2-meeting",
    "nova-2-phonecall",
    "nova-2-conversationalai",
    "nova-2-medical",
    "nova",
    "enhanced",
    "base",
)

DEFAULT_MODEL = "nova-3"
DEFAULT_LANGUAGE = "en-US"

