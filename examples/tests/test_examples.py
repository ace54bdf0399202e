"""The examples, tested the way users test their own agents."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import agent_task
import handoff
import restaurant_tools

from livekit.agents.testing import AgentTest

EXAMPLES = Path(__file__).resolve().parents[1]


class RestaurantTest(AgentTest):
    agent = restaurant_tools.Host
    llm = restaurant_tools.demo_llm()
    userdata = None

    def setUp(self) -> None:
        restaurant_tools.OPEN_TABLES.update({"19:00": 2, "20:00": 0, "21:00": 4})
        type(self).userdata = restaurant_tools.Booking()

    async def test_full_slot_is_explained(self) -> None:
        reply = await self.say("A table at 8 please")
        self.assertToolCalled("check_availability", time="20:00")
        self.assertToolNotCalled("book_table")
        self.assertIn("fully booked", reply)

    async def test_booking_updates_userdata(self) -> None:
        await self.say("Then nine o'clock for two, name is Ada")
        self.assertToolCalled("book_table", time="21:00", guests=2)
        self.assertEqual(self.session.userdata.bookings, ["21:00 for 2"])
        self.assertEqual(self.session.userdata.name, "Ada")


class HandoffTest(AgentTest):
    agent = handoff.Receptionist
    llm = handoff.demo_llm()

    async def test_billing_question_goes_to_billing(self) -> None:
        reply = await self.say("I have a question about my invoice")
        self.assertHandoff(to=handoff.Billing)
        self.assertIn("billing", reply.lower())
        self.assertIsInstance(self.session.current_agent, handoff.Billing)

    async def test_crash_goes_to_support(self) -> None:
        await self.say("the app crashes when I log in")
        self.assertHandoff(to=handoff.Support)


class AgentTaskTest(AgentTest):
    agent = agent_task.Receptionist
    llm = agent_task.demo_llm()

    async def test_callback_collects_a_number_over_several_turns(self) -> None:
        reply = await self.say("Can someone call me back?")
        self.assertToolCalled("schedule_callback")
        self.assertHandoff(to=agent_task.GetPhoneNumber)
        self.assertIn("What number", reply)

        reply = await self.say("It's 415 555")  # too short: the task asks again
        self.assertToolCalled("record_phone_number")
        self.assertIn("all ten digits", reply)
        self.assertIsInstance(self.session.current_agent, agent_task.GetPhoneNumber)

        reply = await self.say("415 555 0100")
        self.assertHandoff(to=agent_task.Receptionist)
        self.assertEqual(reply, "Done: we will call you back at (415) 555-0100.")
        self.assertIsInstance(self.session.current_agent, agent_task.Receptionist)

    async def test_declining_reaches_the_receptionist_as_an_error(self) -> None:
        await self.say("Please call me back")
        reply = await self.say("no thanks")
        self.assertToolCalled("caller_declines")
        self.assertEqual(reply, "the caller declined to give a phone number")
        self.assertIsInstance(self.session.current_agent, agent_task.Receptionist)


def test_minimal_agent_in_text_mode() -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "minimal_agent.py"), "console", "--text"],
        input="Hello!\n", capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "agent: Hello! How can I help you today?" in proc.stdout
    assert "agent: You said: Hello!" in proc.stdout


def test_session_events_example_runs_a_voice_turn(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "session_events.py"), "console",
         "--input", str(EXAMPLES / "assets" / "tone_question.wav"), "--output", str(tmp_path / "reply.wav")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = proc.stdout
    for line in ("[event] user started speaking", "[event] user said: what time do you open tomorrow",
                 "[event] agent started speaking", "[event] agent finished (interrupted=False)"):
        assert line in out
    assert "usage: UsageSummary(" in out and "tts_characters_count=25" in out
    assert (tmp_path / "reply.wav").stat().st_size > 1000
