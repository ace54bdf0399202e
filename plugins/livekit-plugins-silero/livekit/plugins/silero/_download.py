"""``python agent.py download-files``: verify the bundled Silero VAD model ahead of time.

Nothing is downloaded: the model ships inside this package. The hook checks that the file the
plugin loads (``resources/silero_vad.onnx``) is there and intact, by its SHA-256 pinned in
``_model.py``, reporting the bytes it reads as progress. It only reads, so it is safe to run any
number of times. It does not load the model: ONNX Runtime keeps no cache on disk, so loading it
in the ``download-files`` process would warm nothing for the worker (use ``silero.prewarm``).
"""

from __future__ import annotations

import hashlib
import importlib.resources
from pathlib import Path
from typing import Any

from . import _model

__all__ = ["ModelIntegrityError", "prepare", "verify_model"]

_CHUNK = 1 << 20
_REINSTALL = "pip install --force-reinstall --no-cache-dir livekit-plugins-silero"


class ModelIntegrityError(RuntimeError):
    """The installed model file does not have the pinned checksum (corrupt or modified)."""


def prepare(progress: Any) -> None:
    """The ``livekit.agents.download`` hook: verify the model the plugin will load."""
    with importlib.resources.as_file(_model.bundled_model_file()) as path:
        verify_model(path, _model.MODEL_SHA256, progress)


def verify_model(path: Path, sha256: str, progress: Any) -> None:
    """Check that ``path`` exists and hashes to ``sha256``; report it as one progress file."""
    if not path.is_file():
        raise FileNotFoundError(
            f"the Silero VAD model is missing: {path} does not exist; the installed package "
            f"is incomplete: reinstall it ({_REINSTALL})"
        )
    size = path.stat().st_size
    digest = hashlib.sha256()
    with progress.file(f"{path.name} (verified)", size) as advance, path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
            advance(len(block))
        actual = digest.hexdigest()
        if actual != sha256:
            raise ModelIntegrityError(
                f"the Silero VAD model {path} ({size} bytes) has sha256 {actual}, expected "
                f"{sha256}: the file is corrupt or was modified; reinstall the package "
                f"({_REINSTALL})"
            )
