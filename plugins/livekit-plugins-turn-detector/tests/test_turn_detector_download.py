"""``download-files``: the hook verifies the bundled Smart Turn model, and names a corrupt or
missing copy (the shared checks in ``tests/bundled_model_checks.py``)."""

from __future__ import annotations

from bundled_model_checks import BundledModelDownloadChecks

from livekit.plugins.turn_detector import _download, _model


class TestTurnDetectorDownload(BundledModelDownloadChecks):
    download = _download
    model = _model
    name = "turn-detector"
    what = "the Smart Turn model"
    size = "8.7 MB"
