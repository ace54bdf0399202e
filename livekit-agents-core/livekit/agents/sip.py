"""Telephony: who is on the phone, dialing out, and transferring calls (LiveKit SIP).

A phone caller is a room participant of kind SIP. Inbound calls are routed to rooms by SIP
dispatch rules and the agent is dispatched like for any room; :func:`call_info` reads the
caller's number and call details from the participant. :func:`dial` places an outbound call
into the room; :func:`transfer` hands a call to another number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["CallFailedError", "SipCallInfo", "call_info", "dial", "is_sip_participant", "transfer"]

_PARTICIPANT_KIND_SIP = 3
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SIP_URI = re.compile(r"^(sip|tel):\S+$")


class CallFailedError(Exception):
    """An outbound call or transfer did not go through (busy, no answer, rejected...)."""

    def __init__(self, message: str, *, status: str | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class SipCallInfo:
    participant_identity: str
    #: the remote party's number (the caller for inbound calls, the callee for outbound)
    phone_number: str | None
    #: the number of the trunk the call came in on / went out through
    trunk_phone_number: str | None
    call_id: str | None
    direction: Literal["inbound", "outbound"]
    #: ``sip.callStatus``: e.g. "ringing", "active", "hangup"
    status: str | None
    #: SIP headers forwarded as ``sip.h.*`` attributes
    headers: dict[str, str] = field(default_factory=dict)


def is_sip_participant(participant: Any) -> bool:
    return getattr(participant, "kind", None) == _PARTICIPANT_KIND_SIP


def call_info(participant: Any) -> SipCallInfo:
    """Call details of a SIP participant (raises ValueError for other participants)."""
    if not is_sip_participant(participant):
        raise ValueError(f"participant {getattr(participant, 'identity', participant)!r} is not a phone call")
    attrs: dict[str, str] = dict(getattr(participant, "attributes", {}) or {})
    return SipCallInfo(
        participant_identity=participant.identity,
        phone_number=attrs.get("sip.phoneNumber"),
        trunk_phone_number=attrs.get("sip.trunkPhoneNumber"),
        call_id=attrs.get("sip.callID"),
        # dispatch rules only exist for inbound calls
        direction="inbound" if "sip.ruleID" in attrs else "outbound",
        status=attrs.get("sip.callStatus"),
        headers={k[len("sip.h."):]: v for k, v in attrs.items() if k.startswith("sip.h.")},
    )


def _check_destination(number: str) -> None:
    if not (_E164.match(number) or _SIP_URI.match(number)):
        raise ValueError(
            f"invalid phone number {number!r}: use E.164 (e.g. '+14155550100') or a sip:/tel: URI"
        )


async def dial(
    *,
    room_name: str,
    to: str,
    trunk_id: str,
    participant_identity: str = "phone-callee",
    participant_name: str = "Phone",
    wait_until_answered: bool = True,
    ringing_timeout: float = 30.0,
    dtmf: str = "",
    play_dialtone: bool = False,
    api: Any = None,
) -> Any:
    """Call ``to`` through the outbound trunk ``trunk_id`` and bring the callee into the room.

    With ``wait_until_answered`` the call returns once the callee picked up, and raises
    :class:`CallFailedError` when they do not. Returns the server's ``SIPParticipantInfo``.
    ``api`` is a ``livekit.api.LiveKitAPI`` (default: one built from ``LIVEKIT_URL``,
    ``LIVEKIT_API_KEY`` and ``LIVEKIT_API_SECRET``).
    """
    _check_destination(to)
    if not trunk_id:
        raise ValueError("dial() needs the id of an outbound SIP trunk (trunk_id)")
    if ringing_timeout <= 0:
        raise ValueError("ringing_timeout must be positive")
    from datetime import timedelta

    from livekit import api as lkapi

    request = lkapi.CreateSIPParticipantRequest(
        sip_trunk_id=trunk_id,
        sip_call_to=to,
        room_name=room_name,
        participant_identity=participant_identity,
        participant_name=participant_name,
        dtmf=dtmf,
        play_dialtone=play_dialtone,
        wait_until_answered=wait_until_answered,
    )
    request.ringing_timeout.FromTimedelta(timedelta(seconds=ringing_timeout))
    async with _api(api) as client:
        try:
            return await client.sip.create_sip_participant(request, timeout=ringing_timeout + 10)
        except lkapi.TwirpError as e:
            raise CallFailedError(f"the call to {to} failed: {e.message}", status=e.code) from e


async def transfer(
    *,
    room_name: str,
    participant_identity: str,
    to: str,
    play_dialtone: bool = False,
    api: Any = None,
) -> None:
    """Transfer the call of ``participant_identity`` to ``to`` (the caller leaves the room)."""
    _check_destination(to)
    from livekit import api as lkapi

    request = lkapi.TransferSIPParticipantRequest(
        room_name=room_name,
        participant_identity=participant_identity,
        transfer_to=to,
        play_dialtone=play_dialtone,
    )
    async with _api(api) as client:
        try:
            await client.sip.transfer_sip_participant(request)
        except lkapi.TwirpError as e:
            raise CallFailedError(f"the transfer to {to} failed: {e.message}", status=e.code) from e


class _api:
    """Use the given LiveKitAPI, or create (and close) one from the environment."""

    def __init__(self, client: Any) -> None:
        self._given = client
        self._owned: Any = None

    async def __aenter__(self) -> Any:
        if self._given is not None:
            return self._given
        from livekit import api as lkapi

        self._owned = lkapi.LiveKitAPI()
        return self._owned

    async def __aexit__(self, *exc: object) -> None:
        if self._owned is not None:
            await self._owned.aclose()
