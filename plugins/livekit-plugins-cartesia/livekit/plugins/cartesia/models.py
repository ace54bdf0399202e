"""Well-known Cartesia model ids and defaults (other ids are passed through to the API)."""

from __future__ import annotations

TTS_MODELS: tuple[str, ...] = (
    "sonic-2",
    "sonic-3",
    "sonic-turbo",
    "sonic",
    "sonic-latest",
    "sonic-multilingual",
    "sonic-english",
)

DEFAULT_MODEL = "sonic-2"
#: A stock Cartesia voice (English, female, conversational).
DEFAULT_VOICE = "f786b574-daa5-4673-aa0c-cbe3e8534c02"
DEFAULT_LANGUAGE = "en"

#: Output rates the API accepts for raw PCM.
SAMPLE_RATES: tuple[int, ...] = (8000, 16000, 22050, 24000, 44100, 48000)
