"""``dev``: run the worker in a child process and restart it when the code changes.

Changes are debounced (a burst of saves restarts once). Before restarting, the new code is
imported in a separate process: if that fails, the error is printed and the previous worker
keeps serving jobs until the code is fixed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from ..log import logger
from ._app import IMPORT_CHECK_ENV

__all__ = ["run_with_reload"]

_DEBOUNCE_MS = 400


def _child_argv(args: argparse.Namespace) -> list[str]:
    argv = [sys.executable, str(Path(sys.argv[0]).resolve()), "start", "--dev", "--log-level", args.log_level]
    for flag, value in (("--url", args.url), ("--api-key", args.api_key), ("--api-secret", args.api_secret)):
        if value:
            argv += [flag, value]
    return argv


def check_import(script: Path) -> str | None:
    """Import ``script`` in a fresh process; the error output, or None when it imports."""
    env = dict(os.environ, **{IMPORT_CHECK_ENV: "1"})
    try:
        result = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
        )
    except subprocess.TimeoutExpired:
        return f"importing {script.name} took more than 120 s"
    if result.returncode != 0:
        return (result.stderr or result.stdout).strip() or f"exit code {result.returncode}"
    return None


def _stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_with_reload(args: argparse.Namespace) -> int:
    import watchfiles

    script = Path(sys.argv[0]).resolve()
    paths = [script.parent, *(p.resolve() for p in args.watch)]
    argv = _child_argv(args)
    proc = subprocess.Popen(argv)
    logger.info("dev: watching %s for changes", ", ".join(str(p) for p in paths))
    try:
        for changes in watchfiles.watch(
            *paths, watch_filter=watchfiles.PythonFilter(), debounce=_DEBOUNCE_MS, raise_interrupt=True
        ):
            names = sorted({Path(p).name for _, p in changes})
            print(f"dev: {', '.join(names)} changed", file=sys.stderr, flush=True)
            error = check_import(script)
            if error is not None:
                print(f"dev: the new code does not import; the previous code keeps running:\n{error}",
                      file=sys.stderr, flush=True)
                continue
            _stop(proc)
            proc = subprocess.Popen(argv)
            print("dev: worker restarted with the new code", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        _stop(proc)
    return 0
