"""``download-files``: the hook verifies the bundled model, and names a corrupt or missing copy.

The corrupt-file tests point the hook at a temp copy (``_model.bundled_model_file`` patched);
the installed package is only read.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
from pathlib import Path

import pytest

from livekit.agents.cli.download import DOWNLOAD_GROUP, Progress, download_files
from livekit.plugins.turn_detector import _download, _model

HOOK = "livekit.plugins.turn_detector._download:prepare"
FIX = "pip install --force-reinstall --no-cache-dir livekit-plugins-turn-detector"
#: the installed model's location, kept before any test patches it
INSTALLED = _model.bundled_model_file()


def installed_bytes() -> bytes:
    return INSTALLED.read_bytes()


def flipped(data: bytes) -> bytes:
    out = bytearray(data)
    out[len(out) // 2] ^= 0xFF
    return bytes(out)


@pytest.fixture
def corrupt_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the model with one byte flipped, where the plugin (and hook) look for it."""
    copy = tmp_path / "resources" / _model.MODEL_FILE
    copy.parent.mkdir()
    copy.write_bytes(flipped(installed_bytes()))
    monkeypatch.setattr(_model, "bundled_model_file", lambda: copy)
    return copy


@pytest.fixture
def only_this_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    """Core's ``download_files`` sees this plugin's registered hook and no other plugin's."""
    real = importlib.metadata.entry_points
    ours = [ep for ep in real(group=DOWNLOAD_GROUP) if ep.value == HOOK]
    # missing: the plugin was installed before its pyproject declared the hook; reinstall it
    assert [ep.name for ep in ours] == ["turn-detector"]
    monkeypatch.setattr(
        importlib.metadata,
        "entry_points",
        lambda group=None: ours if group == DOWNLOAD_GROUP else real(group=group),
    )


def test_the_pinned_hash_is_the_installed_model() -> None:
    assert hashlib.sha256(installed_bytes()).hexdigest() == _model.MODEL_SHA256
    with importlib.resources.as_file(INSTALLED) as path:
        assert path.is_file()


def test_hook_passes_on_the_installed_model_and_reports_progress(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for _ in range(2):  # safe to run twice
        _download.prepare(Progress("turn-detector"))
    out = capsys.readouterr().out.splitlines()
    assert out.count("turn-detector: smart-turn-v3.2-cpu.onnx (verified) ready (8.7 MB)") == 2


def test_hook_fails_clearly_on_a_corrupt_copy(
    corrupt_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the hook checks the very file the plugin loads
    assert _model._bundled_model() == corrupt_copy.read_bytes()
    actual = hashlib.sha256(corrupt_copy.read_bytes()).hexdigest()
    with pytest.raises(_download.ModelIntegrityError) as info:
        _download.prepare(Progress("turn-detector"))
    message = str(info.value)
    assert str(corrupt_copy) in message
    assert f"has sha256 {actual}, expected {_model.MODEL_SHA256}" in message
    assert f"reinstall the package ({FIX})" in message
    assert "ready" not in capsys.readouterr().out
    # the installed model was only read
    assert hashlib.sha256(installed_bytes()).hexdigest() == _model.MODEL_SHA256


def test_hook_names_a_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / _model.MODEL_FILE
    monkeypatch.setattr(_model, "bundled_model_file", lambda: missing)
    with pytest.raises(FileNotFoundError, match="Smart Turn model is missing") as info:
        _download.prepare(Progress("turn-detector"))
    assert str(missing) in str(info.value) and FIX in str(info.value)


def test_download_files_runs_the_registered_hook(
    only_this_hook: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    assert download_files() == 0
    out = capsys.readouterr().out
    assert "turn-detector: smart-turn-v3.2-cpu.onnx (verified) ready" in out
    assert "all plugin files are ready" in out

    copy = tmp_path / _model.MODEL_FILE
    copy.write_bytes(flipped(installed_bytes()))
    monkeypatch.setattr(_model, "bundled_model_file", lambda: copy)
    assert download_files() == 1
    err = capsys.readouterr().err
    assert f"turn-detector: failed: ModelIntegrityError: the Smart Turn model {copy}" in err
    assert FIX in err
