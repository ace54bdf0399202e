"""``download-files``: run every installed plugin's hook that fetches or verifies its files.

A plugin registers a function in the entry-point group ``livekit.agents.download``; it receives a
:class:`Progress` and reports each file it prepares. Hooks must be idempotent (verify, skip what is
already in place), so the command is safe to run twice.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as importlib_metadata
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["DOWNLOAD_GROUP", "FileIntegrityError", "Progress", "download_files"]

DOWNLOAD_GROUP = "livekit.agents.download"

_CHUNK = 1 << 20


class FileIntegrityError(RuntimeError):
    """An installed file does not have its pinned checksum (corrupt or modified)."""


class Progress:
    """Progress reporting for download hooks: ``with progress.file(name, total) as advance:``."""

    def __init__(self, plugin: str) -> None:
        self.plugin = plugin
        self._rich: Any = None
        if sys.stdout.isatty():
            from rich.progress import BarColumn, DownloadColumn, TextColumn
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(TextColumn("{task.description}"), BarColumn(), DownloadColumn())

    @contextmanager
    def file(self, name: str, total_bytes: int | None = None) -> Iterator[Any]:
        """Report one file; call the yielded function with each chunk's byte count."""
        if self._rich is not None:
            with self._rich:
                task = self._rich.add_task(f"{self.plugin}: {name}", total=total_bytes)
                yield lambda n: self._rich.advance(task, n)
            return
        print(f"{self.plugin}: {name} ...", flush=True)
        done = [0]

        def advance(n: int) -> None:
            done[0] += n

        yield advance
        size = f" ({done[0] / 1e6:.1f} MB)" if done[0] else ""
        print(f"{self.plugin}: {name} ready{size}", flush=True)

    def verify(
        self,
        path: Path,
        sha256: str,
        *,
        what: str,
        fix: str,
        source: str | None = None,
        error: type[FileIntegrityError] = FileIntegrityError,
    ) -> None:
        """Check that a file shipped in a package exists and hashes to ``sha256``, reporting
        the bytes read as one file. ``what`` names it in errors ("the Silero VAD model"),
        ``fix`` is the command that repairs it, ``source`` the package it came from."""
        installed = source or "package"
        if not path.is_file():
            raise FileNotFoundError(
                f"{what} is missing: {path} does not exist; the installed {installed} is "
                f"incomplete: reinstall it ({fix})"
            )
        size = path.stat().st_size
        digest = hashlib.sha256()
        with self.file(f"{path.name} (verified)", size) as advance, path.open("rb") as f:
            while block := f.read(_CHUNK):
                digest.update(block)
                advance(len(block))
            actual = digest.hexdigest()
            if actual != sha256:
                release = (
                    f", or {source} is not the release this plugin was built for" if source else ""
                )
                raise error(
                    f"{what} {path} ({size} bytes) has sha256 {actual}, expected {sha256}: the "
                    f"file is corrupt or was modified{release}; reinstall the package ({fix})"
                )


def download_files() -> int:
    """Run every hook; returns a process exit code (1 if any hook failed)."""
    eps = sorted(importlib_metadata.entry_points(group=DOWNLOAD_GROUP), key=lambda e: e.name)
    if not eps:
        print("no installed plugin needs files ahead of time")
        return 0
    failed = 0
    for ep in eps:
        try:
            hook = ep.load()
            hook(Progress(ep.name))
        except Exception as e:
            failed += 1
            print(f"{ep.name}: failed: {type(e).__name__}: {e}", file=sys.stderr)
    if failed:
        print(f"{failed} plugin(s) failed", file=sys.stderr)
        return 1
    print("all plugin files are ready")
    return 0
