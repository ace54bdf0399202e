"""Aggregate usage (tokens, characters, audio seconds) over a session."""

from __future__ import annotations

from dataclasses import dataclass

from ..log import logger
from .base import AgentMetrics, EOUMetrics, LLMMetrics, STTMetrics, TTSMetrics, VADMetrics

__all__ = ["UsageCollector", "UsageSummary", "log_metrics"]


@dataclass
class UsageSummary:
    llm_prompt_tokens: int = 0
    llm_prompt_cached_tokens: int = 0
    llm_completion_tokens: int = 0
    tts_characters_count: int = 0
    tts_audio_duration: float = 0.0
    stt_audio_duration: float = 0.0


class UsageCollector:
    """Sum the usage in metrics events: ``collector.collect(ev.metrics)``."""

    def __init__(self) -> None:
        self._summary = UsageSummary()

    def __call__(self, metrics: AgentMetrics) -> None:
        self.collect(metrics)

    def collect(self, metrics: AgentMetrics) -> None:
        s = self._summary
        if isinstance(metrics, LLMMetrics):
            s.llm_prompt_tokens += metrics.prompt_tokens
            s.llm_prompt_cached_tokens += metrics.prompt_cached_tokens
            s.llm_completion_tokens += metrics.completion_tokens
        elif isinstance(metrics, TTSMetrics):
            s.tts_characters_count += metrics.characters_count
            s.tts_audio_duration += metrics.audio_duration
        elif isinstance(metrics, STTMetrics):
            s.stt_audio_duration += metrics.audio_duration

    def get_summary(self) -> UsageSummary:
        return UsageSummary(**vars(self._summary))


def log_metrics(metrics: AgentMetrics) -> None:
    """Log one metrics event at INFO level, in a compact human-readable line."""
    if isinstance(metrics, LLMMetrics):
        logger.info(
            "LLM metrics: ttft=%.3fs duration=%.3fs prompt=%d completion=%d tokens/s=%.1f",
            metrics.ttft, metrics.duration, metrics.prompt_tokens,
            metrics.completion_tokens, metrics.tokens_per_second,
        )
    elif isinstance(metrics, TTSMetrics):
        logger.info(
            "TTS metrics: ttfb=%.3fs duration=%.3fs audio=%.2fs characters=%d",
            metrics.ttfb, metrics.duration, metrics.audio_duration, metrics.characters_count,
        )
    elif isinstance(metrics, STTMetrics):
        logger.info("STT metrics: audio=%.2fs duration=%.3fs", metrics.audio_duration, metrics.duration)
    elif isinstance(metrics, EOUMetrics):
        logger.info(
            "EOU metrics: end_of_utterance=%.3fs transcription=%.3fs",
            metrics.end_of_utterance_delay, metrics.transcription_delay,
        )
    elif isinstance(metrics, VADMetrics):
        logger.debug(
            "VAD metrics: inferences=%d total=%.3fs", metrics.inference_count,
            metrics.inference_duration_total,
        )
