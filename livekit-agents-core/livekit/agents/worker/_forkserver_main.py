"""Imported in the fork server only: load the agent script once, as ``__main__``.

CPython's fork server never preloads ``__main__`` (``set_forkserver_preload(["__main__"])`` is
silently a no-op: the main path is not passed to the server), so without this every job process
would execute the agent script again from disk. That costs a full import per job and, in
``dev``, would run a half-edited file. Loading it here, exactly as multiprocessing would in the
child, makes each forked job process find ``__main__`` already in place and skip the re-import.

The script's path comes from :data:`MAIN_PATH_ENV`, set by the worker before the server starts.
If the script fails to load here, nothing is preloaded and each job process reports the error.
"""

from __future__ import annotations

import os
import sys
import traceback

MAIN_PATH_ENV = "LIVEKIT_AGENTS_FORKSERVER_MAIN"


def _preload() -> None:
    path = os.environ.get(MAIN_PATH_ENV)
    if not path or not os.path.isfile(path):
        return
    from multiprocessing import process, spawn

    current = process.current_process()
    current._inheriting = True  # type: ignore[attr-defined]  # as multiprocessing does in children
    try:
        spawn.import_main_path(path)
    except BaseException:
        sys.stderr.write(f"could not preload the agent script {path}:\n{traceback.format_exc()}")
    finally:
        del current._inheriting  # type: ignore[attr-defined]


_preload()
