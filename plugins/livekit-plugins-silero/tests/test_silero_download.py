"""``download-files``: the hook verifies the bundled Silero model, and names a corrupt or missing
copy (the shared checks in ``tests/bundled_model_checks.py``)."""

from __future__ import annotations

from bundled_model_checks import BundledModelDownloadChecks

from livekit.plugins.silero import _download, _model


class TestSileroDownload(BundledModelDownloadChecks):
    download = _download
    model = _model
    name = "silero"
    what = "the Silero VAD model"
    size = "2.3 MB"
