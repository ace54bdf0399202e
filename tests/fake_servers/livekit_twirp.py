"""A fake LiveKit server API (Twirp: protobuf over HTTP POST) on 127.0.0.1, for SIP calls.

    async with FakeLiveKitAPI(api_key="devkey", api_secret="secret") as srv:
        srv.answer = "answered"            # or "busy" / "no-answer"
        client = api.LiveKitAPI(srv.url, "devkey", "secret")
        ...
        srv.requests  # [(method, request message)]
"""

from __future__ import annotations

import json
from typing import Any

import jwt
from aiohttp import web
from livekit import api


class FakeLiveKitAPI:
    def __init__(self, *, api_key: str = "devkey", api_secret: str = "secret") -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.answer = "answered"
        self.requests: list[tuple[str, Any]] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> FakeLiveKitAPI:
        app = web.Application()
        app.router.add_post("/twirp/livekit.SIP/{method}", self._sip)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _error(self, code: str, msg: str, status: int) -> web.Response:
        return web.Response(status=status, text=json.dumps({"code": code, "msg": msg}),
                            content_type="application/json")

    async def _sip(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        try:
            claims = jwt.decode(auth.removeprefix("Bearer "), self.api_secret, algorithms=["HS256"],
                                options={"verify_aud": False})
        except jwt.PyJWTError:
            return self._error("unauthenticated", "invalid token", 401)
        if claims.get("iss") != self.api_key or not claims.get("sip", {}).get("call"):
            return self._error("permission_denied", "no SIP call grant", 403)
        method = request.match_info["method"]
        body = await request.read()
        if method == "CreateSIPParticipant":
            msg = api.CreateSIPParticipantRequest.FromString(body)
            self.requests.append((method, msg))
            if self.answer != "answered":
                return self._error("unavailable", f"call failed: {self.answer}", 503 if self.answer == "error" else 408)
            info = api.SIPParticipantInfo(participant_id="PA_phone", participant_identity=msg.participant_identity,
                                          room_name=msg.room_name, sip_call_id="SCL_fake")
            return web.Response(body=info.SerializeToString(), content_type="application/protobuf")
        if method == "TransferSIPParticipant":
            msg = api.TransferSIPParticipantRequest.FromString(body)
            self.requests.append((method, msg))
            return web.Response(body=b"", content_type="application/protobuf")
        return self._error("bad_route", f"no method {method}", 404)
