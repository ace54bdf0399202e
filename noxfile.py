"""Every check of the repository. ``nox -l`` lists the sessions.

- ``tests``: core, every plugin and the cross-package tests, on each Python 3.10-3.13 found
  (missing interpreters are skipped). Tests marked ``slow`` (local models, wheel builds) run on
  the default Python only.
- ``plugin-<name>``: one plugin's tests against the core in the tree.
- ``lowest``: every test (but the slow ones) with the lowest versions the distributions declare
  (``uv --resolution lowest-direct``), on Python 3.10; it keeps the declared floors honest.
- ``lint`` (ruff), ``types`` (mypy), ``build`` (wheels and sdists), ``docs``, ``bench``, ``demo``.

Virtualenvs are reused between runs (``reuse_existing_virtualenvs``) and built with uv when it is
installed, so a second run installs nothing.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import nox

ROOT = Path(__file__).parent
CORE = ROOT / "livekit-agents-core"
PLUGINS = sorted(p for p in (ROOT / "plugins").glob("livekit-plugins-*") if (p / "pyproject.toml").exists())
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
DEFAULT_PYTHON = "3.11"

nox.options.default_venv_backend = "uv|virtualenv" if shutil.which("uv") else "virtualenv"
nox.options.error_on_missing_interpreters = False
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests"]


#: plugin extras that install local models (hundreds of MB, and a llama.cpp build): only
#: the default Python's test run installs them, where the slow tests run
HEAVY_EXTRAS = {"livekit-plugins-local": "[all]"}
#: llama-cpp-python builds from source: skip its multimodal part, which no plugin uses
BUILD_ENV = {"CMAKE_ARGS": "-DLLAVA_BUILD=OFF"}


def _install_tree(session: nox.Session, *, heavy: bool = False) -> None:
    """Core and every plugin, editable, with the test requirements."""
    args = ["-e", f"{CORE}[mcp]"]
    for plugin in PLUGINS:
        extra = HEAVY_EXTRAS.get(plugin.name, "") if heavy else ""
        args += ["-e", f"{plugin}{extra}"]
    session.install("-r", str(ROOT / "tests" / "requirements.txt"), *args, env=BUILD_ENV)


def _test_paths() -> list[str]:
    paths = [str(CORE / "tests")]
    paths += [str(p / "tests") for p in PLUGINS if (p / "tests").is_dir()]
    paths.append(str(ROOT / "tests"))
    paths.append(str(ROOT / "examples" / "tests"))
    return paths


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole test suite."""
    default = session.python == DEFAULT_PYTHON
    _install_tree(session, heavy=default)
    args = list(session.posargs)
    if not default and not any(a.startswith("-m") for a in args):
        args += ["-m", "not slow"]
    session.run("pytest", *_test_paths(), *args, env={"LIVEKIT_AGENTS_TESTING": "1"})


@nox.session(python=DEFAULT_PYTHON)
@nox.parametrize("plugin", [p.name.removeprefix("livekit-plugins-") for p in PLUGINS])
def plugin(session: nox.Session, plugin: str) -> None:
    """One plugin's tests against the core in the tree."""
    path = ROOT / "plugins" / f"livekit-plugins-{plugin}"
    extra = HEAVY_EXTRAS.get(path.name, "")
    session.install("-r", str(ROOT / "tests" / "requirements.txt"), "-e", str(CORE), "-e", f"{path}{extra}",
                    env=BUILD_ENV)
    session.run("pytest", str(path / "tests"), *session.posargs)


@nox.session(python="3.10", venv_backend="uv" if shutil.which("uv") else "virtualenv")
def lowest(session: nox.Session) -> None:
    """Core and plugins with the lowest dependency versions they declare."""
    if not shutil.which("uv"):
        session.skip("needs uv for --resolution lowest-direct")
    args = ["-e", f"{CORE}[mcp]"] + [a for p in PLUGINS for a in ("-e", str(p))]
    session.run_install(
        "uv", "pip", "install", "--resolution", "lowest-direct",
        "-r", str(ROOT / "tests" / "requirements.txt"), *args,
        env={"VIRTUAL_ENV": session.virtualenv.location},
    )
    session.run("pytest", *_test_paths(), "-m", "not slow", *session.posargs)


@nox.session(python=DEFAULT_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")


@nox.session(python=DEFAULT_PYTHON)
def types(session: nox.Session) -> None:
    """mypy, strict, on core and every plugin."""
    _install_tree(session)
    session.install("mypy>=1.10")
    targets = [str(CORE / "livekit")] + [str(p / "livekit") for p in PLUGINS]
    session.run("mypy", *targets)


@nox.session(python=DEFAULT_PYTHON)
def build(session: nox.Session) -> None:
    """A wheel and an sdist per distribution, checked for PEP 420 namespaces."""
    session.install("build>=1.0", "hatchling>=1.18")
    out = ROOT / "dist"
    shutil.rmtree(out, ignore_errors=True)
    for project in [CORE, *PLUGINS]:
        session.run("python", "-m", "build", "--no-isolation", "--outdir", str(out), str(project))
    wheels = sorted(out.glob("*.whl"))
    bad = []
    for wheel in wheels:
        names = zipfile.ZipFile(wheel).namelist()
        bad += [f"{wheel.name}: {n}" for n in names if n in ("livekit/__init__.py", "livekit/plugins/__init__.py")]
    if bad:
        session.error("namespace packages must not ship __init__.py:\n" + "\n".join(bad))
    session.log(f"built {len(wheels)} wheels and {len(list(out.glob('*.tar.gz')))} sdists in {out}")


@nox.session(python=DEFAULT_PYTHON)
def docs(session: nox.Session) -> None:
    """Check the docs: internal links resolve and every Python code block compiles."""
    session.run("python", str(ROOT / "tools" / "check_docs.py"), external=True)


@nox.session(python=DEFAULT_PYTHON)
def bench(session: nox.Session) -> None:
    """Run the benchmarks in bench/ and print their results (see bench/README.md)."""
    _install_tree(session)
    for script in sorted((ROOT / "bench").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)


@nox.session(python=DEFAULT_PYTHON)
def demo(session: nox.Session) -> None:
    """The README's main command in a fresh environment: a fully offline spoken turn."""
    session.install("-r", str(ROOT / "examples" / "requirements-offline.txt"), env=BUILD_ENV)
    reply = Path(session.create_tmp()) / "reply.wav"
    session.run("python", str(ROOT / "examples" / "offline_agent.py"), "console",
                "--input", str(ROOT / "examples" / "assets" / "question.wav"), "--output", str(reply))
