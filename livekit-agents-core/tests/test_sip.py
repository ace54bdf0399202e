"""Telephony helpers: call details of phone participants, dialing out and transfers."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import pytest
from fake_servers.livekit_twirp import FakeLiveKitAPI
from livekit import api

from livekit.agents import sip


@dataclass
class Participant:
    identity: str
    kind: int
    attributes: dict[str, str] = field(default_factory=dict)


def test_call_info_of_an_inbound_caller() -> None:
    caller = Participant("sip_caller", 3, {
        "sip.phoneNumber": "+14155550100", "sip.trunkPhoneNumber": "+18005550199",
        "sip.callID": "SCL_1", "sip.ruleID": "SDR_1", "sip.callStatus": "active",
        "sip.h.x-customer": "vip",
    })
    info = sip.call_info(caller)
    assert info.phone_number == "+14155550100" and info.direction == "inbound"
    assert info.status == "active" and info.headers == {"x-customer": "vip"}
    assert sip.call_info(Participant("callee", 3, {"sip.phoneNumber": "+1"})).direction == "outbound"
    with pytest.raises(ValueError, match="is not a phone call"):
        sip.call_info(Participant("web-user", 0))


async def test_dial_and_transfer_against_the_server_api() -> None:
    async with FakeLiveKitAPI(api_secret="a-test-secret-that-is-long-enough-1234") as srv:
        # newer livekit-api releases retry other regions unless told not to
        kwargs = {"failover": False} if "failover" in inspect.signature(api.LiveKitAPI).parameters else {}
        client = api.LiveKitAPI(srv.url, "devkey", srv.api_secret, **kwargs)
        info = await sip.dial(room_name="support-42", to="+14155550100", trunk_id="ST_out",
                              participant_identity="customer", api=client)
        assert info.participant_identity == "customer" and info.room_name == "support-42"
        method, req = srv.requests[0]
        assert method == "CreateSIPParticipant"
        assert (req.sip_trunk_id, req.sip_call_to, req.wait_until_answered) == ("ST_out", "+14155550100", True)
        assert req.ringing_timeout.seconds == 30

        await sip.transfer(room_name="support-42", participant_identity="customer", to="sip:desk@example.com",
                           api=client)
        assert srv.requests[1][1].transfer_to == "sip:desk@example.com"

        srv.answer = "busy"
        with pytest.raises(sip.CallFailedError, match=r"the call to \+14155550100 failed: call failed: busy"):
            await sip.dial(room_name="r", to="+14155550100", trunk_id="ST_out", api=client)
        await client.aclose()


async def test_bad_numbers_are_rejected_before_any_request() -> None:
    with pytest.raises(ValueError, match="invalid phone number '555-0100'"):
        await sip.dial(room_name="r", to="555-0100", trunk_id="ST_out")
    with pytest.raises(ValueError, match="trunk_id"):
        await sip.dial(room_name="r", to="+14155550100", trunk_id="")
    with pytest.raises(ValueError, match="invalid phone number"):
        await sip.transfer(room_name="r", participant_identity="x", to="call me maybe")
