#!/usr/bin/env python3
"""Generate a provider plugin distribution from the template.

    python tools/new_plugin.py acme --kinds stt,tts            # -> plugins/livekit-plugins-acme/
    python tools/new_plugin.py acme --kinds turn_detector,avatar,mcp
    python tools/new_plugin.py acme --kinds llm --out /tmp/x   # anywhere (third-party repos)

The result is a complete distribution: a pyproject with entry points (so ``"acme/<model>"``
resolves with no change to core), a package with working example providers, a README and a
test. Replace the example implementations with calls to your provider.
"""

from __future__ import annotations

import argparse
import keyword
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "plugin_template"
#: the provider kinds of ``livekit.agents.registry.KINDS`` (a test keeps them in sync)
KINDS = ("stt", "llm", "tts", "vad", "turn_detector", "avatar", "mcp")
CLASS = {"stt": "STT", "llm": "LLM", "tts": "TTS", "vad": "VAD",
         "turn_detector": "TurnDetector", "avatar": "Avatar", "mcp": "MCPServer"}
#: how factory descriptions name each kind
TITLE = {**CLASS, "turn_detector": "turn detector", "avatar": "avatar", "mcp": "MCP server"}
SAMPLE = {"stt": "{n}/default", "llm": "{n}/default", "tts": "{n}/default:default", "vad": "{n}",
          "turn_detector": "{n}", "avatar": "{n}/default", "mcp": "{n}"}
#: kinds resolved from a bare name: their factories list no models
BARE = ("vad", "turn_detector", "mcp")
#: how AgentSession takes each kind, when not by its own name
SESSION_ARG = {"turn_detector": 'turn_detection="{s}"', "mcp": 'mcp_servers=["{s}"]'}
#: modules generated besides <kind>.py
EXTRA_MODULES = {"mcp": ("mcp_server",)}
#: turn_detection values that select a built-in mode, so never reach a plugin
TURN_MODES = ("vad", "stt", "manual")

_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$|^[a-z]$")

_FACTORY = '''

@provider(kind="{kind}", description="{title} {kind_title}", models={models})
def {kind}(model: str | None, variant: str | None, **options: Any) -> Any:
    from .{kind} import {cls}

{body}'''

_FACTORY_BODY = {
    "stt": '    return STT(model=model or "default", language=variant or "en", **options)\n',
    "llm": '    model = model or "default"\n'
    '    return LLM(model=model if variant is None else f"{model}:{variant}", **options)\n',
    "tts": '    return TTS(model=model or "default", voice=variant or "default", **options)\n',
    "vad": "    return VAD(**options)\n",
    "turn_detector": "    return TurnDetector(**options)\n",
    "avatar": '    return Avatar(avatar_id=model or "default", **options)\n',
    "mcp": "    return MCPServer(**options)\n",
}

_BEHAVIOUR_TESTS = {
    "stt": '''

async def test_stt_transcribes() -> None:
    from livekit import rtc

    stt = registry.resolve("stt", "{n}/default")
    frame = rtc.AudioFrame(bytes(3200), 16000, 1, 1600)
    event = await stt.recognize([frame])
    assert event.alternatives and event.alternatives[0].text
''',
    "llm": '''

async def test_llm_replies() -> None:
    from livekit.agents import ChatContext

    llm = registry.resolve("llm", "{n}/default")
    ctx = ChatContext.empty()
    ctx.add_message(role="user", content="hello")
    response = await llm.chat(chat_ctx=ctx).collect()
    assert "hello" in response.text
''',
    "tts": '''

async def test_tts_synthesizes_audio() -> None:
    tts = registry.resolve("tts", "{n}/default:default")
    frame = await tts.synthesize("Hello there.").collect()
    assert frame.duration > 0
''',
    "vad": '''

async def test_vad_detects_speech() -> None:
    import numpy as np
    from livekit import rtc
    from livekit.agents.vad import VADEventType

    vad = registry.resolve("vad", "{n}")
    stream = vad.stream()
    loud = (np.ones(320) * 8000).astype(np.int16).tobytes()
    for _ in range(20):
        stream.push_frame(rtc.AudioFrame(loud, 16000, 1, 320))
    stream.end_input()
    kinds = [ev.type async for ev in stream]
    assert VADEventType.START_OF_SPEECH in kinds
''',
    "turn_detector": '''

async def test_turn_detector_waits_for_unfinished_sentences() -> None:
    from livekit.agents import ChatContext

    detector = registry.resolve("turn_detector", "{n}")
    threshold = await detector.unlikely_threshold("en")
    assert threshold is not None

    async def predict(text: str) -> float:
        ctx = ChatContext.empty()
        ctx.add_message(role="user", content=text)
        return float(await detector.predict_end_of_turn(ctx))

    assert await predict("I would like to book a table.") >= threshold
    assert await predict("I would like to book a") < threshold
''',
    "avatar": '''

async def test_avatar_takes_over_the_audio_output() -> None:
    import asyncio

    from livekit import rtc
    from livekit.agents import AgentSession

    avatar = registry.resolve("avatar", "{n}/my-avatar")
    assert avatar.avatar_id == "my-avatar"
    session = AgentSession()
    await avatar.start(session, None)
    output = session.output.audio
    assert output is not None
    await output.capture_frame(rtc.AudioFrame(bytes(960), 24000, 1, 480))
    output.flush()
    finished = await asyncio.wait_for(output.wait_for_playout(), 5)
    assert not finished.interrupted and avatar.sent_seconds > 0
    await avatar.aclose()
''',
    "mcp": '''

async def test_mcp_server_serves_its_tools() -> None:
    server = registry.resolve("mcp", "{n}")
    try:
        tools = {{t.name: t for t in await server.list_tools()}}
        assert "opening hours" in await tools["search"](raw_arguments={{"query": "opening hours"}})
    finally:
        await server.aclose()
''',
}


def render(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    if "{{" in text:
        raise RuntimeError(f"unfilled placeholder in template: {text[text.index('{{'):][:40]}")
    return text


def generate(name: str, kinds: list[str], out: Path) -> Path:
    if not _NAME_RE.match(name):
        raise ValueError(
            f"invalid plugin name {name!r}: use lowercase letters, digits and '-', starting with a letter"
        )
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        got = f"unknown: {', '.join(unknown)}" if unknown else "got nothing"
        raise ValueError(f"--kinds must list some of {', '.join(KINDS)} ({got})")
    if "turn_detector" in kinds and name in TURN_MODES:
        raise ValueError(f"{name!r} cannot name a turn detector: turn_detection={name!r} is a built-in mode")
    module = name.replace("-", "_")
    if keyword.iskeyword(module):
        raise ValueError(f"{name!r} cannot be used: {module!r} is a Python keyword")
    target = out / f"livekit-plugins-{name}"
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} already exists and is not empty")

    title = " ".join(part.capitalize() for part in name.split("-"))
    kinds = [k for k in KINDS if k in kinds]
    entry_points = "".join(
        f'[project.entry-points."livekit.agents.{k}"]\n{name} = "livekit.plugins.{module}._providers:{k}"\n\n'
        for k in kinds
    )
    factories = "".join(
        _FACTORY.format(
            kind=k, cls=CLASS[k], title=title, kind_title=TITLE[k], body=_FACTORY_BODY[k],
            models="()" if k in BARE else '("default",)',
        )
        for k in kinds
    )
    samples = {k: SAMPLE[k].format(n=name) for k in kinds}
    values = {
        "name": name,
        "module": module,
        "Title": title,
        "ENV": module.upper(),
        "core_requirement": "livekit-agents[mcp]>=1.0,<2" if "mcp" in kinds else "livekit-agents>=1.0,<2",
        "entry_points": entry_points,
        "factories": factories,
        "type_imports": "".join(f"    from .{k} import {CLASS[k]}\n" for k in kinds).rstrip("\n"),
        "all": "".join(f'"{CLASS[k]}", ' for k in kinds),
        "lazy": "".join(f'    "{CLASS[k]}": ".{k}",\n' for k in kinds),
        "usage": ", ".join(SESSION_ARG.get(k, k + '="{s}"').format(s=samples[k]) for k in kinds),
        "object_usage": "\n".join(f"{k} = {module}.{CLASS[k]}()" for k in kinds),
        "provided": "\n".join(f"- `{CLASS[k]}`: `{samples[k]}`" for k in kinds),
        "resolve_checks": "\n".join(
            f'    assert type(registry.resolve("{k}", "{samples[k]}")).__name__ == "{CLASS[k]}"'
            for k in kinds
        ),
        "behaviour_tests": "".join(_BEHAVIOUR_TESTS[k].format(n=name) for k in kinds),
    }

    pkg = target / "livekit" / "plugins" / module
    (target / "tests").mkdir(parents=True, exist_ok=True)
    pkg.mkdir(parents=True, exist_ok=True)
    files = {
        target / "pyproject.toml": TEMPLATE / "pyproject.toml.tmpl",
        target / "README.md": TEMPLATE / "README.md.tmpl",
        target / "CHANGELOG.md": TEMPLATE / "CHANGELOG.md.tmpl",
        pkg / "__init__.py": TEMPLATE / "package" / "__init__.py.tmpl",
        pkg / "version.py": TEMPLATE / "package" / "version.py.tmpl",
        pkg / "_providers.py": TEMPLATE / "package" / "_providers.py.tmpl",
        target / "tests" / f"test_{module}.py": TEMPLATE / "test_plugin.py.tmpl",
    }
    for k in kinds:
        for stem in (k, *EXTRA_MODULES.get(k, ())):
            files[pkg / f"{stem}.py"] = TEMPLATE / "kinds" / f"{stem}.py.tmpl"
    for dest, src in files.items():
        dest.write_text(render(src.read_text(), values))
    (pkg / "py.typed").write_text("")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a LiveKit Agents provider plugin.")
    parser.add_argument("name", help="provider id, e.g. 'acme' (used in 'acme/<model>' strings)")
    parser.add_argument("--kinds", required=True, help=f"comma-separated: {','.join(KINDS)}")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "plugins",
                        help="directory to create livekit-plugins-<name>/ in (default: plugins/)")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    try:
        target = generate(args.name, kinds, args.out)
    except (ValueError, FileExistsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"created {target}")
    print(f"next: pip install -e {target}[test] && pytest {target}/tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
