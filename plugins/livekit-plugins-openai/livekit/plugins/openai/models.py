"""Model ids, voices and defaults (plain data: importing this module loads no SDK)."""

from __future__ import annotations

from typing import Literal, TypeAlias

__all__ = [
    "DEFAULT_LLM_MODEL",
    "DEFAULT_STT_MODEL",
    "DEFAULT_TTS_MODEL",
    "DEFAULT_VOICE",
    "LLM_MODELS",
    "STT_MODELS",
    "TTS_MODELS",
    "TTS_VOICES",
    "stt_model_id",
]

#: Well-known chat models; any other id (including OpenAI-compatible servers' ids such as
#: ``llama3.2:3b``) is passed through unchanged.
LLMModels: TypeAlias = Literal[
    "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o4-mini"
]
LLM_MODELS: tuple[str, ...] = (
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "o4-mini",
)
DEFAULT_LLM_MODEL = "gpt-4o-mini"

STTModels: TypeAlias = Literal["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"]
STT_MODELS: tuple[str, ...] = (
    "whisper",
    "whisper-1",
    "gpt-4o-transcribe",
    "gpt-4o-mini-transcribe",
)
DEFAULT_STT_MODEL = "gpt-4o-mini-transcribe"
#: short names accepted in provider strings (``openai/whisper``) -> API model ids
_STT_ALIASES = {"whisper": "whisper-1"}

TTSModels: TypeAlias = Literal["tts-1", "tts-1-hd", "gpt-4o-mini-tts"]
TTS_MODELS: tuple[str, ...] = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
DEFAULT_TTS_MODEL = "gpt-4o-mini-tts"

TTSVoices: TypeAlias = Literal[
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "onyx",
    "nova",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
]
TTS_VOICES: tuple[str, ...] = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "onyx",
    "nova",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
DEFAULT_VOICE = "alloy"

#: OpenAI TTS with response_format="pcm": 24 kHz, 16-bit signed little-endian, mono
TTS_SAMPLE_RATE = 24000


def stt_model_id(name: str) -> str:
    """The API id of an STT model name (``whisper`` -> ``whisper-1``); others pass through."""
    return _STT_ALIASES.get(name, name)
