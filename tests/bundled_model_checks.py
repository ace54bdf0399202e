"""Checks every plugin that ships a model inside its wheel runs on its ``download-files`` hook.

A plugin's test module subclasses :class:`BundledModelDownloadChecks` and fills in the class
attributes; the corrupt-file tests point the hook at a temp copy (``bundled_model_file``
patched), so the installed package is only read.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
from pathlib import Path
from types import ModuleType
from typing import ClassVar

import pytest

from livekit.agents.cli.download import DOWNLOAD_GROUP, Progress, download_files


def flipped(data: bytes) -> bytes:
    out = bytearray(data)
    out[len(out) // 2] ^= 0xFF
    return bytes(out)


class BundledModelDownloadChecks:
    #: the plugin's ``_download`` module (``prepare``, ``ModelIntegrityError``)
    download: ClassVar[ModuleType]
    #: the plugin's ``_model`` module (``MODEL_FILE``, ``MODEL_SHA256``, ``bundled_model_file``)
    model: ClassVar[ModuleType]
    #: the hook's entry-point name, which prefixes its progress lines
    name: ClassVar[str]
    #: the model's name in error messages, e.g. "the Silero VAD model"
    what: ClassVar[str]
    #: the size printed once the file is verified, e.g. "2.3 MB"
    size: ClassVar[str]

    @property
    def hook(self) -> str:
        return f"{self.download.__name__}:prepare"

    @property
    def fix(self) -> str:
        dist = "livekit-plugins-" + self.download.__name__.split(".")[2].replace("_", "-")
        return f"pip install --force-reinstall --no-cache-dir {dist}"

    def installed_bytes(self) -> bytes:
        return self.installed.read_bytes()

    @pytest.fixture(autouse=True)
    def _installed(self) -> None:
        """The installed model's location, kept before any test patches it."""
        self.installed = self.model.bundled_model_file()

    @pytest.fixture
    def corrupt_copy(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        """A copy of the model with one byte flipped, where the plugin (and hook) look for it."""
        copy = tmp_path / "resources" / self.model.MODEL_FILE
        copy.parent.mkdir()
        copy.write_bytes(flipped(self.installed_bytes()))
        monkeypatch.setattr(self.model, "bundled_model_file", lambda: copy)
        return copy

    @pytest.fixture
    def only_this_hook(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Core's ``download_files`` sees this plugin's registered hook and no other plugin's."""
        real = importlib.metadata.entry_points
        ours = [ep for ep in real(group=DOWNLOAD_GROUP) if ep.value == self.hook]
        # missing: the plugin was installed before its pyproject declared the hook; reinstall it
        assert [ep.name for ep in ours] == [self.name]
        monkeypatch.setattr(
            importlib.metadata,
            "entry_points",
            lambda group=None: ours if group == DOWNLOAD_GROUP else real(group=group),
        )

    def test_the_pinned_hash_is_the_installed_model(self) -> None:
        assert hashlib.sha256(self.installed_bytes()).hexdigest() == self.model.MODEL_SHA256
        with importlib.resources.as_file(self.installed) as path:
            assert path.is_file()

    def test_hook_passes_on_the_installed_model_and_reports_progress(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        for _ in range(2):  # safe to run twice
            self.download.prepare(Progress(self.name))
        out = capsys.readouterr().out.splitlines()
        ready = f"{self.name}: {self.model.MODEL_FILE} (verified) ready ({self.size})"
        assert out.count(ready) == 2

    def test_hook_fails_clearly_on_a_corrupt_copy(
        self, corrupt_copy: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # the hook checks the very file the plugin loads
        assert self.model._bundled_model() == corrupt_copy.read_bytes()
        actual = hashlib.sha256(corrupt_copy.read_bytes()).hexdigest()
        with pytest.raises(self.download.ModelIntegrityError) as info:
            self.download.prepare(Progress(self.name))
        message = str(info.value)
        assert str(corrupt_copy) in message
        assert f"has sha256 {actual}, expected {self.model.MODEL_SHA256}" in message
        assert f"reinstall the package ({self.fix})" in message
        assert "ready" not in capsys.readouterr().out
        # the installed model was only read
        assert hashlib.sha256(self.installed_bytes()).hexdigest() == self.model.MODEL_SHA256

    def test_hook_names_a_missing_file(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        missing = tmp_path / self.model.MODEL_FILE
        monkeypatch.setattr(self.model, "bundled_model_file", lambda: missing)
        with pytest.raises(FileNotFoundError, match=f"{self.what.removeprefix('the ')} is missing") as info:
            self.download.prepare(Progress(self.name))
        assert str(missing) in str(info.value) and self.fix in str(info.value)

    def test_download_files_runs_the_registered_hook(
        self,
        only_this_hook: None,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
    ) -> None:
        assert download_files() == 0
        out = capsys.readouterr().out
        assert f"{self.name}: {self.model.MODEL_FILE} (verified) ready" in out
        assert "all plugin files are ready" in out

        copy = tmp_path / self.model.MODEL_FILE
        copy.write_bytes(flipped(self.installed_bytes()))
        monkeypatch.setattr(self.model, "bundled_model_file", lambda: copy)
        assert download_files() == 1
        err = capsys.readouterr().err
        assert f"{self.name}: failed: ModelIntegrityError: {self.what} {copy}" in err
        assert self.fix in err
