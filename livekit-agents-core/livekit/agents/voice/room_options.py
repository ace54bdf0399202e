"""What a session takes from a room and gives back: ``RoomOptions`` and its parts.

``session.start(room=..., room_options=RoomOptions(...))`` is the current form; the older
``room_input_options=RoomInputOptions(...)`` / ``room_output_options=RoomOutputOptions(...)``
pair is still accepted and converted (the two forms cannot be mixed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from .agent_session import AgentSession

__all__ = [
    "AudioInputOptions",
    "AudioOutputOptions",
    "RoomInputOptions",
    "RoomOptions",
    "RoomOutputOptions",
    "TextInputCallback",
    "TextInputEvent",
    "TextInputOptions",
    "TextOutputOptions",
]

SAMPLE_RATE = 24000
#: participant kinds the agent listens to by default: standard (0), SIP (3), connector (5)
DEFAULT_PARTICIPANT_KINDS = (0, 3, 5)


@dataclass
class TextInputEvent:
    """A chat message the linked participant sent on the ``lk.chat`` topic."""

    text: str
    participant_identity: str


TextInputCallback = Callable[["AgentSession[Any]", TextInputEvent], Union[Awaitable[None], None]]


@dataclass
class AudioInputOptions:
    """How the participant's microphone track is read."""

    sample_rate: int = SAMPLE_RATE
    num_channels: int = 1
    #: frame duration handed to the pipeline (None: the SDK's default, 10 ms)
    frame_size_ms: int | None = None
    #: an ``rtc.NoiseCancellationOptions`` or an ``rtc.FrameProcessor[AudioFrame]`` applied to
    #: every frame before VAD and STT (e.g. a noise-suppression plugin's processor)
    noise_cancellation: Any = None


@dataclass
class AudioOutputOptions:
    """The audio track the agent publishes."""

    sample_rate: int = SAMPLE_RATE
    num_channels: int = 1
    track_name: str = "roomio_audio"
    #: ``rtc.TrackPublishOptions`` (default: a microphone-source track)
    track_publish_options: Any = None


@dataclass
class TextInputOptions:
    """Chat messages on ``lk.chat`` become user turns; a callback replaces that behaviour."""

    #: called with (session, event) instead of the default (interrupt, then reply to the text)
    text_input_cb: TextInputCallback | None = None


@dataclass
class TextOutputOptions:
    """The agent's transcript on ``lk.transcription``."""

    #: release the transcript word by word as the audio plays (False: as soon as it is known)
    sync_transcription: bool = True


@dataclass
class RoomOptions:
    """Everything ``session.start(room=...)`` does with the room. ``False`` turns a part off;
    ``True`` uses its defaults."""

    audio_input: AudioInputOptions | bool = True
    audio_output: AudioOutputOptions | bool = True
    text_input: TextInputOptions | bool = True
    text_output: TextOutputOptions | bool = True
    #: listen to this participant only (default: the first participant of an accepted kind)
    participant_identity: str | None = None
    #: the kinds of participant the agent may link to (``rtc.ParticipantKind`` values)
    participant_kinds: list[int] = field(default_factory=lambda: list(DEFAULT_PARTICIPANT_KINDS))
    #: close the session when the linked participant leaves
    close_on_disconnect: bool = True
    video_input: bool = False

    def __post_init__(self) -> None:
        for name, kind in (
            ("audio_input", AudioInputOptions),
            ("audio_output", AudioOutputOptions),
            ("text_input", TextInputOptions),
            ("text_output", TextOutputOptions),
        ):
            value = getattr(self, name)
            if value is True:
                setattr(self, name, kind())
            elif value is not False and not isinstance(value, kind):
                raise TypeError(
                    f"RoomOptions.{name} must be a bool or {kind.__name__}, got {type(value).__name__}"
                )
        if self.video_input:
            raise ValueError("video input is not supported: pass video_input=False")
        for opts in (self.audio_input, self.audio_output):
            if opts is False:
                continue
            assert isinstance(opts, (AudioInputOptions, AudioOutputOptions))
            if opts.sample_rate <= 0:
                raise ValueError(f"sample_rate must be positive, got {opts.sample_rate}")
            if opts.num_channels != 1:
                raise ValueError(
                    f"num_channels must be 1 (the voice pipeline is mono), got {opts.num_channels}"
                )

    # typed views for RoomIO (None when the part is off)

    @property
    def audio_in(self) -> AudioInputOptions | None:
        return self.audio_input if isinstance(self.audio_input, AudioInputOptions) else None

    @property
    def audio_out(self) -> AudioOutputOptions | None:
        return self.audio_output if isinstance(self.audio_output, AudioOutputOptions) else None

    @property
    def text_in(self) -> TextInputOptions | None:
        return self.text_input if isinstance(self.text_input, TextInputOptions) else None

    @property
    def text_out(self) -> TextOutputOptions | None:
        return self.text_output if isinstance(self.text_output, TextOutputOptions) else None


@dataclass
class RoomInputOptions:
    """The older form of the input half of :class:`RoomOptions`."""

    audio_enabled: bool = True
    text_enabled: bool = True
    video_enabled: bool = False
    audio_sample_rate: int = SAMPLE_RATE
    audio_num_channels: int = 1
    noise_cancellation: Any = None
    text_input_cb: TextInputCallback | None = None
    participant_kinds: list[int] = field(default_factory=lambda: list(DEFAULT_PARTICIPANT_KINDS))
    participant_identity: str | None = None
    close_on_disconnect: bool = True


@dataclass
class RoomOutputOptions:
    """The older form of the output half of :class:`RoomOptions`."""

    audio_enabled: bool = True
    transcription_enabled: bool = True
    audio_sample_rate: int = SAMPLE_RATE
    audio_num_channels: int = 1
    audio_track_name: str = "roomio_audio"
    audio_publish_options: Any = None
    sync_transcription: bool = True


def resolve_room_options(
    room_options: RoomOptions | None,
    input_options: RoomInputOptions | None,
    output_options: RoomOutputOptions | None,
) -> RoomOptions:
    """One :class:`RoomOptions` from whichever form the caller used."""
    if room_options is not None:
        if input_options is not None or output_options is not None:
            raise ValueError(
                "pass either room_options= or room_input_options=/room_output_options=, not both"
            )
        if not isinstance(room_options, RoomOptions):
            raise TypeError(f"room_options must be a RoomOptions, got {type(room_options).__name__}")
        return room_options
    for name, value, kind in (
        ("room_input_options", input_options, RoomInputOptions),
        ("room_output_options", output_options, RoomOutputOptions),
    ):
        if value is not None and not isinstance(value, kind):
            raise TypeError(f"{name} must be a {kind.__name__}, got {type(value).__name__}")
    i = input_options or RoomInputOptions()
    o = output_options or RoomOutputOptions()
    return RoomOptions(
        audio_input=AudioInputOptions(
            sample_rate=i.audio_sample_rate,
            num_channels=i.audio_num_channels,
            noise_cancellation=i.noise_cancellation,
        ) if i.audio_enabled else False,
        audio_output=AudioOutputOptions(
            sample_rate=o.audio_sample_rate,
            num_channels=o.audio_num_channels,
            track_name=o.audio_track_name,
            track_publish_options=o.audio_publish_options,
        ) if o.audio_enabled else False,
        text_input=TextInputOptions(text_input_cb=i.text_input_cb) if i.text_enabled else False,
        text_output=TextOutputOptions(sync_transcription=o.sync_transcription)
        if o.transcription_enabled else False,
        participant_identity=i.participant_identity,
        participant_kinds=list(i.participant_kinds),
        close_on_disconnect=i.close_on_disconnect,
        video_input=i.video_enabled,
    )
