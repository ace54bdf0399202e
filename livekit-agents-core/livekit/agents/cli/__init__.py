"""Command line of agent scripts: ``cli.run_app(entrypoint)``.

``run_app`` is imported on first use: sessions reach into this package for console I/O, and
must not pay for argparse and the worker options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import run_app

__all__ = ["run_app"]


def __getattr__(name: str) -> Any:
    if name == "run_app":
        from ._app import run_app

        return run_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
