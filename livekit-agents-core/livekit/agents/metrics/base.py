"""Metrics reported by providers and by the voice pipeline."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeAlias, Union

__all__ = [
    "AgentMetrics",
    "EOUMetrics",
    "LLMMetrics",
    "STTMetrics",
    "TTSMetrics",
    "VADMetrics",
]


@dataclass
class _Metrics:
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    model_dump = to_dict


@dataclass
class LLMMetrics(_Metrics):
    label: str
    request_id: str
    duration: float
    ttft: float
    cancelled: bool = False
    completion_tokens: int = 0
    prompt_tokens: int = 0
    prompt_cached_tokens: int = 0
    total_tokens: int = 0
    tokens_per_second: float = 0.0
    model: str = ""
    provider: str = ""
    speech_id: str | None = None
    timestamp: float = field(default_factory=time.time)
    type: Literal["llm_metrics"] = "llm_metrics"


@dataclass
class STTMetrics(_Metrics):
    label: str
    request_id: str
    duration: float
    audio_duration: float
    streamed: bool
    model: str = ""
    provider: str = ""
    timestamp: float = field(default_factory=time.time)
    type: Literal["stt_metrics"] = "stt_metrics"


@dataclass
class TTSMetrics(_Metrics):
    label: str
    request_id: str
    ttfb: float
    duration: float
    audio_duration: float
    characters_count: int
    streamed: bool
    cancelled: bool = False
    model: str = ""
    provider: str = ""
    segment_id: str | None = None
    speech_id: str | None = None
    timestamp: float = field(default_factory=time.time)
    type: Literal["tts_metrics"] = "tts_metrics"


@dataclass
class VADMetrics(_Metrics):
    label: str
    idle_time: float
    inference_duration_total: float
    inference_count: int
    timestamp: float = field(default_factory=time.time)
    type: Literal["vad_metrics"] = "vad_metrics"


@dataclass
class EOUMetrics(_Metrics):
    """End of a user turn: how long after the user stopped speaking the turn was committed."""

    end_of_utterance_delay: float
    transcription_delay: float
    on_user_turn_completed_delay: float = 0.0
    #: the wait chosen after the end of speech: ``max_endpointing_delay`` when the turn detector
    #: judged the user mid-sentence, ``min_endpointing_delay`` otherwise
    endpointing_delay: float = 0.0
    speech_id: str | None = None
    timestamp: float = field(default_factory=time.time)
    type: Literal["eou_metrics"] = "eou_metrics"


AgentMetrics: TypeAlias = Union[LLMMetrics, STTMetrics, TTSMetrics, VADMetrics, EOUMetrics]
