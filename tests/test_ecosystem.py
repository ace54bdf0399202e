"""The plugin ecosystem from the outside: build wheels, install them in a fresh virtualenv,
and resolve providers by string, including a third-party plugin made from the template
(``tools/new_plugin.py``).

Installs are offline (``uv pip install --offline``): dependencies come from uv's cache, which
the test environment's own installation filled.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from livekit.agents import registry

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "livekit-agents-core"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("new_plugin", ROOT / "tools" / "new_plugin.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


new_plugin = _generator()


def _run(*cmd: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def _build(project: Path, dist: Path) -> Path:
    before = set(dist.glob("*.whl"))
    _run(sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist), cwd=project)
    (wheel,) = set(dist.glob("*.whl")) - before
    return wheel


def _fresh_venv(path: Path) -> Path:
    _run(sys.executable, "-m", "venv", "--without-pip", str(path))
    return path / "bin" / "python"


def _install(python: Path, *requirements: str, find_links: Path | None = None) -> None:
    args = [sys.executable, "-m", "uv", "pip", "install", "--offline", "-q", "-p", str(python)]
    if find_links is not None:
        args += ["--find-links", str(find_links)]
    _run(*args, *requirements)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dist")


@pytest.fixture(scope="module")
def core_wheel(dist: Path) -> Path:
    return _build(CORE, dist)


def _assert_pep420(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "livekit/__init__.py" not in names, wheel.name
    assert "livekit/plugins/__init__.py" not in names, wheel.name


def test_generator_covers_every_registry_kind() -> None:
    assert set(new_plugin.KINDS) == set(registry.KINDS)


def test_unknown_kind_lists_the_valid_kinds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert new_plugin.main(["acme", "--kinds", "stt,avatars", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown: avatars" in err and all(kind in err for kind in registry.KINDS)
    assert not any(tmp_path.iterdir())


def test_turn_detector_cannot_shadow_a_turn_detection_mode(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="built-in mode"):
        new_plugin.generate("manual", ["turn_detector"], tmp_path)


def _expose(plugin: Path, site: Path) -> dict[str, str]:
    """An environment where ``plugin`` imports and registers its entry points, uninstalled."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    project = tomllib.loads((plugin / "pyproject.toml").read_text())["project"]
    info = site / f"{project['name'].replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in eps.items()) + "\n"
        for group, eps in project["entry-points"].items()
    ))
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin), str(site)])}


def test_template_plugin_with_every_kind_passes_its_tests(tmp_path: Path) -> None:
    plugin = new_plugin.generate("acme", list(new_plugin.KINDS), tmp_path)
    env = _expose(plugin, tmp_path / "site")
    out = _run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=plugin, env=env)
    # one test resolves every kind by string, then one behaviour test per kind
    assert f"{len(new_plugin.KINDS) + 1} passed" in out, out


@pytest.mark.slow
def test_template_plugin_resolves_in_a_fresh_virtualenv(tmp_path: Path, dist: Path, core_wheel: Path) -> None:
    _run(sys.executable, str(ROOT / "tools" / "new_plugin.py"), "acme", "--kinds", ",".join(new_plugin.KINDS),
         "--out", str(tmp_path))
    plugin = tmp_path / "livekit-plugins-acme"
    plugin_wheel = _build(plugin, dist)
    _assert_pep420(core_wheel)
    _assert_pep420(plugin_wheel)

    python = _fresh_venv(tmp_path / "venv")
    _install(python, str(core_wheel), str(plugin_wheel))

    listing = json.loads(_run(str(python), "-m", "livekit.agents", "plugins", "--json", "--check"))
    for kind in new_plugin.KINDS:
        rows = {r["provider"]: r for r in listing["providers"][kind]}
        assert rows["acme"]["distribution"] == "livekit-plugins-acme", kind
        assert rows["acme"]["version"] == "0.1.0" and rows["acme"]["status"] == "ok", kind

    script = (
        "import asyncio, livekit.rtc\n"
        "from livekit.agents import Agent, AgentSession\n"
        "async def main():\n"
        "    session = AgentSession(stt='acme/default', llm='acme/default', tts='acme/default:calm')\n"
        "    print(type(session.llm).__module__, session.tts.voice)\n"
        "    await session.start(Agent(instructions='x'))\n"
        "    result = await session.run(user_input='hello plugin')\n"
        "    print(result.events[0].item.text_content)\n"
        "    await session.aclose()\n"
        "asyncio.run(main())\n"
    )
    out = _run(str(python), "-c", script).splitlines()
    assert out[0] == "livekit.plugins.acme.llm calm"
    assert "hello plugin" in out[1]

    # the generated plugin's own test passes against the installed wheels
    _install(python, "pytest", "pytest-asyncio")
    _run(str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(plugin / "tests"), cwd=plugin)


def _first_party_extra() -> tuple[str, Path] | None:
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((CORE / "pyproject.toml").read_text())["project"].get("optional-dependencies", {})
    for extra, reqs in sorted(extras.items()):
        for req in reqs:
            name = req.split(">")[0].split("=")[0].split("<")[0].split("[")[0].strip()
            path = ROOT / "plugins" / name
            if name.startswith("livekit-plugins-") and path.is_dir():
                return extra, path
    return None


@pytest.mark.slow
def test_core_extra_pulls_its_plugin(tmp_path: Path, dist: Path, core_wheel: Path) -> None:
    found = _first_party_extra()
    if found is None:
        pytest.skip("no first-party plugin is declared as an extra yet")
    extra, plugin_dir = found
    plugin_wheel = _build(plugin_dir, dist)
    _assert_pep420(plugin_wheel)
    python = _fresh_venv(tmp_path / "venv")
    _install(python, f"livekit-agents[{extra}]=={core_wheel.name.split('-')[1]}", find_links=dist)
    listing = json.loads(_run(str(python), "-m", "livekit.agents", "plugins", "--json"))
    dists = {r["distribution"] for rows in listing["providers"].values() for r in rows}
    assert plugin_dir.name in dists
