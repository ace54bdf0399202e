"""Metrics events and usage aggregation."""

from .base import AgentMetrics, EOUMetrics, LLMMetrics, STTMetrics, TTSMetrics, VADMetrics
from .usage import UsageCollector, UsageSummary, log_metrics

__all__ = [
    "AgentMetrics",
    "EOUMetrics",
    "LLMMetrics",
    "STTMetrics",
    "TTSMetrics",
    "UsageCollector",
    "UsageSummary",
    "VADMetrics",
    "log_metrics",
]
