"""``python agent.py download-files``: verify the bundled Silero VAD model ahead of time.

Nothing is downloaded: the model ships inside this package. The hook checks that the file the
plugin loads (``resources/silero_vad.onnx``) is there and intact, by its SHA-256 pinned in
``_model.py``, reporting the bytes it reads as progress. It only reads, so it is safe to run any
number of times. It does not load the model: ONNX Runtime keeps no cache on disk, so loading it
in the ``download-files`` process would warm nothing for the worker (use ``silero.prewarm``).
"""

from __future__ import annotations

import importlib.resources
from typing import Any

from livekit.agents.cli.download import FileIntegrityError

from . import _model

__all__ = ["ModelIntegrityError", "prepare"]

_REINSTALL = "pip install --force-reinstall --no-cache-dir livekit-plugins-silero"


class ModelIntegrityError(FileIntegrityError):
    """The installed model file does not have the pinned checksum (corrupt or modified)."""


def prepare(progress: Any) -> None:
    """The ``livekit.agents.download`` hook: verify the model the plugin will load."""
    with importlib.resources.as_file(_model.bundled_model_file()) as path:
        progress.verify(
            path,
            _model.MODEL_SHA256,
            what="the Silero VAD model",
            fix=_REINSTALL,
            error=ModelIntegrityError,
        )
