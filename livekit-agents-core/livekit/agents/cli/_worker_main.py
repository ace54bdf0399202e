"""``start`` (and the worker behind ``dev``): run a worker until a signal, then stop it.

In production the first SIGINT/SIGTERM drains (no new jobs; running jobs may finish, up to
``drain_timeout``), a second one stops the jobs now, a third exits at once. In dev the first
signal stops the jobs now.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

from ..log import logger
from ..worker.options import WorkerOptions
from ..worker.server import Worker, WorkerConnectionError, missing_credentials

__all__ = ["run_worker"]


def run_worker(opts: WorkerOptions, *, dev: bool) -> int:
    """Run a worker; the process exit code (0 on a clean stop, 1 when it failed)."""
    missing = missing_credentials(opts)
    if missing:
        print(
            "error: the worker needs a LiveKit server and its API credentials; missing "
            + ", ".join(missing)
            + ". Set them in the environment (or .env), or pass --url, --api-key and --api-secret.",
            file=sys.stderr,
        )
        return 1
    # jobs (and LiveKitAPI() in user code) read the server and credentials from the environment
    os.environ["LIVEKIT_URL"] = opts.ws_url
    os.environ["LIVEKIT_API_KEY"] = opts.api_key
    os.environ["LIVEKIT_API_SECRET"] = opts.api_secret
    try:
        return asyncio.run(_main(opts, dev=dev))
    except KeyboardInterrupt:
        return 0


async def _main(opts: WorkerOptions, *, dev: bool) -> int:
    loop = asyncio.get_running_loop()
    worker = Worker(opts, dev=dev)
    stop = asyncio.Event()
    force = asyncio.Event()
    signals = 0

    def on_signal(sig: signal.Signals) -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            logger.info("received %s: %s", sig.name, "stopping" if dev else "draining, then stopping")
            stop.set()
        elif signals == 2:
            logger.warning("received %s again: stopping the running jobs now", sig.name)
            force.set()
        else:
            os._exit(1)

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, sig)

    run = asyncio.create_task(worker.run(), name="worker")
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({run, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    code = 0
    if not run.done():
        if not dev:
            await _drain(worker, opts.drain_timeout, force)
        await worker.aclose()
    try:
        await run
    except WorkerConnectionError as e:
        logger.error("worker failed: %s", e)
        code = 1
    except Exception:
        logger.exception("worker failed")
        code = 1
    return code


async def _drain(worker: Worker, timeout: float, force: asyncio.Event) -> None:
    draining = asyncio.create_task(worker.drain(timeout))
    forced = asyncio.create_task(force.wait())
    await asyncio.wait({draining, forced}, return_when=asyncio.FIRST_COMPLETED)
    forced.cancel()
    if not draining.done():
        draining.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        try:
            await draining
        except asyncio.TimeoutError:
            logger.warning("drain timed out after %g s: stopping the remaining jobs", timeout)
