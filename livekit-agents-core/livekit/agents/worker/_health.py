"""The worker's HTTP endpoint for orchestrators: ``GET /`` (liveness) and ``GET /worker`` (state)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

__all__ = ["HealthServer"]


class HealthServer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        healthy: Callable[[], tuple[bool, str]],
        info: Callable[[], dict[str, Any]],
    ) -> None:
        self._host = host or None  # "" = every interface
        self._port = port
        self._healthy = healthy
        self._info = info
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> int:
        app = web.Application()
        app.router.add_get("/", self._on_root)
        app.router.add_get("/worker", self._on_worker)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self._port
        return self.port

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _on_root(self, request: web.Request) -> web.Response:
        ok, detail = self._healthy()
        return web.Response(text="OK" if ok else detail, status=200 if ok else 503)

    async def _on_worker(self, request: web.Request) -> web.Response:
        return web.json_response(self._info())
