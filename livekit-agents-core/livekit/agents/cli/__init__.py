"""Command line of agent scripts: ``cli.run_app(entrypoint)``."""

from ._app import run_app

__all__ = ["run_app"]
