"""``cli.run_app``: the command line of an agent script (console, dev, start, download-files)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..worker.options import AgentServer, WorkerOptions
from . import log

__all__ = ["run_app"]

#: set by ``dev`` when it checks that edited code imports; run_app then returns at once
IMPORT_CHECK_ENV = "LIVEKIT_AGENTS_IMPORT_CHECK"

_LOG_LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL"]


def _to_options(app: Any) -> WorkerOptions:
    if isinstance(app, WorkerOptions):
        return app
    if isinstance(app, AgentServer):
        return app.to_options()
    if callable(app):
        return WorkerOptions(entrypoint_fnc=app)
    raise TypeError(
        "run_app() takes the entrypoint function, a WorkerOptions or an AgentServer, "
        f"got {type(app).__name__}"
    )


def _server_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", default=None, help="LiveKit server URL (default: $LIVEKIT_URL)")
    p.add_argument("--api-key", default=None, help="API key (default: $LIVEKIT_API_KEY)")
    p.add_argument("--api-secret", default=None, help="API secret (default: $LIVEKIT_API_SECRET)")


def _log_arg(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument(
        "--log-level",
        default=os.environ.get("LIVEKIT_LOG_LEVEL", default),
        type=str.upper,
        choices=_LOG_LEVELS,
        help=f"log level (default: $LIVEKIT_LOG_LEVEL or {default})",
    )


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run this agent: locally in the terminal (console), with hot reload against a "
        "LiveKit server (dev), or in production (start).",
    )
    sub = parser.add_subparsers(dest="command", metavar="{console,dev,start,download-files}")

    c = sub.add_parser(
        "console",
        help="talk to the agent in this terminal (no server, no credentials)",
        description="Run the agent locally. With a microphone and speakers it listens and speaks; "
        "with --text (or when no audio device exists) you type and read; with --input it plays a "
        "WAV file through the whole voice pipeline and can write the reply to --output.",
    )
    c.add_argument("--text", action="store_true", help="type instead of speaking (STT and TTS are bypassed)")
    c.add_argument("--input", type=Path, metavar="WAV", help="feed this WAV file as the user's speech")
    c.add_argument("--output", type=Path, metavar="WAV", help="write the agent's speech to this WAV file")
    c.add_argument("--transcript", type=Path, metavar="JSONL", help="write the conversation events to this file")
    c.add_argument("--input-device", default=None, help="microphone: index or name substring")
    c.add_argument("--output-device", default=None, help="speaker: index or name substring")
    c.add_argument("--list-devices", action="store_true", help="list audio devices and exit")
    c.add_argument("--max-wait", type=float, default=60.0, metavar="SECONDS",
                   help="file mode: how long to wait for the agent after the input ends (default 60)")
    _log_arg(c, "WARN")

    d = sub.add_parser(
        "dev",
        help="run a worker with hot reload (restarts on code changes)",
        description="Like start, with debug logging and hot reload: the worker restarts when a watched "
        "file changes; if the new code fails to import, the previous code keeps running.",
    )
    _server_args(d)
    d.add_argument("--no-reload", action="store_true", help="do not watch files")
    d.add_argument("--watch", action="append", type=Path, default=[], metavar="DIR",
                   help="extra directory to watch (repeatable; default: the script's directory)")
    _log_arg(d, "DEBUG")

    s = sub.add_parser(
        "start",
        help="run a production worker connected to a LiveKit server",
        description="Register with the LiveKit server and run a job for each room dispatched to this agent.",
    )
    _server_args(s)
    s.add_argument("--drain-timeout", type=float, default=None, metavar="SECONDS",
                   help="on shutdown, how long to let running jobs finish")
    s.add_argument("--dev", action="store_true", help=argparse.SUPPRESS)
    _log_arg(s, "INFO")

    sub.add_parser(
        "download-files",
        help="fetch or verify the files installed plugins need (models, caches)",
        description="Run every installed plugin's download hook, ahead of time. Safe to run twice.",
    )
    return parser


def run_app(app: Any, *, argv: list[str] | None = None) -> None:
    """Parse the command line and run the agent. Exits the process when done."""
    opts = _to_options(app)
    if os.environ.get(IMPORT_CHECK_ENV) == "1":
        return
    _load_dotenv()
    # options are usually built at import time, before .env was read
    opts.read_environment()
    prog = Path(sys.argv[0]).name or "agent.py"
    parser = build_parser(f"python {prog}")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        parser.print_help()
        sys.exit(2)
    sys.exit(_dispatch(opts, args))


def _dispatch(opts: WorkerOptions, args: argparse.Namespace) -> int:
    if args.command == "console":
        log.setup(args.log_level, console=True)
        os.environ["LIVEKIT_DEV_MODE"] = "1"
        from .console import run_console

        return run_console(opts, args)
    if args.command == "download-files":
        log.setup("INFO")
        from .download import download_files

        return download_files()

    _apply_server_args(opts, args)
    if args.command == "dev":
        log.setup(args.log_level, dev=True)
        os.environ["LIVEKIT_DEV_MODE"] = "1"
        if args.no_reload:
            from ._worker_main import run_worker

            return run_worker(opts, dev=True)
        from .dev import run_with_reload

        return run_with_reload(args)
    log.setup(args.log_level, dev=args.dev)
    if args.drain_timeout is not None:
        opts.drain_timeout = args.drain_timeout
    from ._worker_main import run_worker

    return run_worker(opts, dev=args.dev)


def _apply_server_args(opts: WorkerOptions, args: argparse.Namespace) -> None:
    if args.url:
        opts.ws_url = args.url
    if args.api_key:
        opts.api_key = args.api_key
    if args.api_secret:
        opts.api_secret = args.api_secret


def _load_dotenv() -> None:
    env = Path.cwd() / ".env"
    if env.is_file():
        from dotenv import load_dotenv

        load_dotenv(env, override=False)
