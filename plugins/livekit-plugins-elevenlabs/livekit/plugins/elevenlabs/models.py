"""Model names, output formats and voice settings of the ElevenLabs text-to-speech API."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_VOICE_ID",
    "MODEL_ALIASES",
    "NON_STREAMING_MODELS",
    "SAMPLE_RATES",
    "VoiceSettings",
    "output_format",
    "resolve_model",
]

#: A low-latency multilingual model, suited to conversations.
DEFAULT_MODEL = "eleven_flash_v2_5"

#: "George", one of the premade voices every account can use.
DEFAULT_VOICE_ID = "JBFqnCBsd6RMkjVDRZzb"

#: Short names accepted in provider strings (``elevenlabs/multilingual-v2``) -> model ids.
MODEL_ALIASES: dict[str, str] = {
    "multilingual-v2": "eleven_multilingual_v2",
    "multilingual-v1": "eleven_multilingual_v1",
    "monolingual-v1": "eleven_monolingual_v1",
    "flash-v2.5": "eleven_flash_v2_5",
    "flash-v2": "eleven_flash_v2",
    "turbo-v2.5": "eleven_turbo_v2_5",
    "turbo-v2": "eleven_turbo_v2",
    "v3": "eleven_v3",
}

#: Models the websocket endpoints do not serve: text is synthesized sentence by sentence over REST.
NON_STREAMING_MODELS = frozenset({"eleven_v3"})

#: Sample rates of the raw PCM output formats (``pcm_<rate>``).
SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)


def resolve_model(name: str) -> str:
    """The model id for a short name (``flash-v2.5``); full ids (``eleven_...``) pass through."""
    key = name.strip()
    if not key:
        raise ValueError("the ElevenLabs model name is empty")
    return MODEL_ALIASES.get(key.lower(), key)


def output_format(sample_rate: int) -> str:
    """The ``output_format`` value for 16-bit mono PCM at ``sample_rate`` Hz."""
    if sample_rate not in SAMPLE_RATES:
        rates = ", ".join(str(r) for r in SAMPLE_RATES)
        raise ValueError(
            f"ElevenLabs streams raw PCM at {rates} Hz; sample_rate={sample_rate} is not one of them"
        )
    return f"pcm_{sample_rate}"


@dataclass(frozen=True)
class VoiceSettings:
    """Per-request overrides of a voice's stored settings (``None`` fields are left out)."""

    stability: float | None = None
    similarity_boost: float | None = None
    style: float | None = None
    speed: float | None = None
    use_speaker_boost: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}
