"""``python -m livekit.agents``: inspect the installation.

    python -m livekit.agents plugins            # installed providers by kind
    python -m livekit.agents plugins --json     # the same, for machines
    python -m livekit.agents plugins --check    # also import each one and check its plugin API
    python -m livekit.agents download-files     # fetch/verify what installed plugins need
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from . import registry
from .version import PLUGIN_API_VERSION, __version__

_TITLES = {
    "stt": "STT",
    "llm": "LLM",
    "tts": "TTS",
    "vad": "VAD",
    "turn_detector": "Turn detection",
    "avatar": "Avatars",
    "mcp": "MCP servers",
}


def _collect(check: bool) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for kind in registry.KINDS:
        rows = []
        for p in registry.available_providers(kind):
            row: dict[str, Any] = {
                "provider": p.name,
                "distribution": p.distribution,
                "version": p.version,
                "entry_point": p.target,
            }
            if p.conflicts:
                row["conflicts"] = list(p.conflicts)
            if check:
                try:
                    factory = p.load()
                    row["status"] = "ok"
                    row["plugin_api"] = factory.plugin_api
                    row["models"] = list(factory.models)
                    row["description"] = factory.description
                except registry.ProviderError as e:
                    row["status"] = "error"
                    row["error"] = str(e)
            rows.append(row)
        out[kind] = rows
    return out


def _cmd_plugins(args: argparse.Namespace) -> int:
    data = _collect(args.check)
    if args.json:
        json.dump(
            {"livekit_agents": __version__, "plugin_api": PLUGIN_API_VERSION, "providers": data},
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
        return 0 if all(r.get("status") != "error" for rows in data.values() for r in rows) else 1

    print(f"livekit-agents {__version__} (plugin API {PLUGIN_API_VERSION})")
    failed = False
    for kind, rows in data.items():
        print(f"\n{_TITLES[kind]} (livekit.agents.{kind}):")
        if not rows:
            print("  (none installed)")
            continue
        width = max(len(r["provider"]) for r in rows)
        for r in rows:
            dist = f"{r['distribution']} {r['version']}" if r["distribution"] else "(unknown distribution)"
            line = f"  {r['provider']:<{width}}  {dist}"
            if "conflicts" in r:
                line += f"  CONFLICT with {', '.join(r['conflicts'])}"
            if args.check:
                if r.get("status") == "ok":
                    models = ", ".join(r["models"][:6])
                    line += f"  ok{f'  models: {models}' if models else ''}"
                else:
                    failed = True
                    line += f"\n      error: {r['error']}"
            print(line)
    return 1 if failed else 0


def _cmd_download_files(args: argparse.Namespace) -> int:
    from .cli.download import download_files

    return download_files()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m livekit.agents", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"livekit-agents {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("plugins", help="list installed providers by kind")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--check", action="store_true", help="import each provider and check its plugin API")
    p.set_defaults(func=_cmd_plugins)

    d = sub.add_parser("download-files", help="fetch or verify the files installed plugins need")
    d.set_defaults(func=_cmd_download_files)

    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # e.g. piped into `head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
