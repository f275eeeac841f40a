"""Every diagnostic code filmc can emit, in one registry: stable number, default severity, title, explanation.

A leaf module (it imports only filmc.model and the standard library), so any stage can name a code and
`filmc explain F0202` can print one without loading a stage. docs/diagnostics.md documents the same codes;
tests/test_diagnostic_codes.py keeps the two, and every call site, in step.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from filmc.model import Model

Severity = Literal["error", "warning"]

DOCS = "docs/diagnostics.md"


class Code(Model):
    """One code's meaning, written once: call sites name it, `filmc explain` prints it, the docs link to it."""

    code: str
    severity: Severity = "error"
    title: str
    explanation: str
    reserved: bool = False  # documented but emitted by nothing, so its number is never given another meaning

    @property
    def anchor(self) -> str:
        """The code's link target in docs/diagnostics.md, e.g. `f0202`."""
        return self.code.lower()

    @property
    def docs(self) -> str:
        return f"{DOCS}#{self.anchor}"


_REGISTRY: dict[str, Code] = {}


def _code(code: str, title: str, explanation: str, severity: Severity = "error", *, reserved: bool = False) -> Code:
    """Defines and registers one code; a number defined twice is a filmc bug caught at import."""
    assert code not in _REGISTRY, f"diagnostic code {code} defined twice"
    entry = Code(code=code, severity=severity, title=title, explanation=textwrap.dedent(explanation).strip(),
                 reserved=reserved)
    _REGISTRY[code] = entry
    return entry


# ---------------------------------------------------------------- syntax (F00xx)

UNEXPECTED_TOKEN = _code("F0001", "a word or symbol the grammar doesn't allow here", """
    The parser met a word it cannot fit at this point of the film, e.g. `camera push-in` written outside a
    shot's { } block, or a quoted name where a bare word belongs (`with "custodian"`). The hint lists what
    would fit. Fix: shot 6s "…" { camera push-in }, with custodian.
    """)
UNEXPECTED_CHARACTER = _code("F0002", "a character that starts no token", """
    A character no part of the language begins with, most often `#` or `/*` used to start a comment, or a
    curly quote (“ ” ‘ ’) where a straight " belongs. Comments start with // and run to the end of the line;
    `#` only begins a colour inside a palette: palette { 0:00 dawn #0B1E3F }; texts are written "like this"
    (curly quotes inside a text are fine).
    """)
UNCLOSED_TEXT = _code("F0003", "a quoted text that is never closed", """
    A "text is opened but not closed on the same line. Close it with ", or use a \"\"\"block\"\"\" for text that
    runs over several lines, such as a style bible. When a later quote on the line closes it instead
    (`shot 2s "A sky { light "soft" }`), the report points at the text's opening quote.
    """)
UNEXPECTED_END = _code("F0004", "the file ends early, or is empty", """
    The file stops before the film is complete, usually because a closing } is missing; or the file is empty.
    Count the braces of the block you edited last. The smallest film is:
    film "Title" { language en  scene "One" { shot 4s "…" } }
    """)
DURATION_WITHOUT_UNIT = _code("F0005", "a number where a duration belongs", """
    Durations carry a unit so nobody has to guess: `shot 12 "…"` fails. Write 12s, 500ms, or a timecode such as
    0:12 or 1:05.5. Minutes are written m:ss, not with a unit: `1m6s` is 1:06 (or 66s).
    """)
BAD_TIMECODE = _code("F0006", "a timecode that isn't one", """
    A timecode whose parts are out of range: in `0:75`, seconds in m:ss run from 00 to 59. Write 1:15 or 75s.
    A time longer than a day (1440:00), or with more digits than any time needs, is refused too, wherever
    it is written, `[pause …]` included.
    """)
UNREADABLE_FILE = _code("F0010", "the film file can't be read, or isn't UTF-8", """
    filmc could not open the file (a wrong path, no permission), or its bytes are not UTF-8 text. Check the
    path, and save the film as UTF-8 (an editor's byte-order mark is fine).
    """)

# ---------------------------------------------------------------- the film and its declarations (F01xx, F02xx)

MISSING_LANGUAGE = _code("F0101", "the film has no `language`", """
    Every film declares its language: narration, subtitles and voices depend on it. Add a BCP 47 tag inside the
    film block: film "Entropy" { language it … }.
    """)
BAD_LANGUAGE_TAG = _code("F0102", "`language` is not a BCP 47 tag", """
    `language italian` is a word, not a tag. Write a BCP 47 tag: it, en, en-GB, pt-BR.
    """)
BAD_FRAME_SIZE = _code("F0103", "a frame size that can't be encoded", """
    H.264 needs even sizes, and filmc takes 16 to 8192 pixels a side: `frame 1279x720 @ 24` fails.
    Use e.g. 1280x720 or 1920x1080.
    """)
BAD_FRAME_RATE = _code("F0104", "a frame rate outside 1–120", """
    `frame 1280x720 @ 0` cannot be timed. Use a rate between 1 and 120, e.g. 24, 25 or 23.976.
    """)
DUPLICATE_SETTING = _code("F0105", "a setting given twice in the same place", """
    `language it` and later `language en` in one film, or two `camera` lines in one shot: the second would
    silently win. Keep one.
    """)
UNKNOWN_DIRECTION = _code("F0107", "an unknown [direction] inside a narration line", """
    Square brackets in a line are directions for the voice, and only [pause 0.8s] and [breath] exist:
    say "Wait [sigh] here" fails. Write [pause 0.5s], or take the brackets out.
    """)
UNKNOWN_PACE = _code("F0108", "an unknown pace word", """
    `pace quick` fails: a pace is very-slow, slow, measured, normal, brisk, fast, or a number from 0.5 to 2.0.
    The hint offers the closest word.
    """)
UNPAIRED_MARKUP = _code("F0109", "an unpaired `[`, `]` or `*` in a narration line", """
    In a line, `[…]` is a direction and `*…*` emphasis, each opened and closed on the same line:
    say "The *last light" would otherwise be read aloud with its star. Close it, or take it out; write
    "times" for a multiplication sign.
    """)
DUPLICATE_ENTITY = _code("F0201", "an entity declared twice", """
    An entity has one canonical description, so that every prompt describes it identically; two
    `entity custodian "…"` lines would disagree. Keep one, or rename the other.
    """)
UNKNOWN_ENTITY = _code("F0202", "a shot names an entity that isn't declared", """
    `with custodain` names no entity. Entities are declared once, at the top of the film, and shots refer to
    them by name. Fix the spelling (the hint offers the closest declared name), or declare it:
    entity custodain "one canonical description".
    """)
UNKNOWN_CAMERA_MOVE = _code("F0203", "an unknown camera move", """
    Camera moves are a closed vocabulary, so every backend can render them: `camera zoom` fails. Use one of
    static, slow-push-in, push-in, pull-out, pan-left, tilt-up, orbit, aerial-drift, tracking, zoom-in… (the hint
    offers the closest word; docs/language.md lists them all).
    """)
UNKNOWN_TRANSITION = _code("F0204", "an unknown transition", """
    Transitions are a closed vocabulary: `transition wipe 1s` fails. Use cut, crossfade, fade-to-black,
    fade-from-black, dip-to-white, wipe-left or wipe-right.
    """)
DUPLICATE_SCENE_TITLE = _code("F0205", "two scenes with the same title", """
    Scene titles name scenes in plans, timelines and storyboards, so two `scene "Dawn"` blocks would be
    indistinguishable there. Make the titles unique.
    """)
UNKNOWN_VOICE = _code("F0206", "a line names a voice that isn't declared", """
    `say "…" voice narrattore` names no voice. Fix the spelling, or declare it:
    voice narrattore "who speaks, and how".
    """)
DUPLICATE_VOICE = _code("F0207", "a voice declared twice", """
    Two `voice narrator "…"` declarations would disagree about who speaks. Keep one, or rename the other.
    """)

# ---------------------------------------------------------------- timing (F03xx)

SCENE_LENGTH_MISMATCH = _code("F0301", "a scene's declared length differs from its shots", """
    `scene "A" 9s { shot 2s "…" }` declares 9s but its shots add up to 2s. The shots decide the timing;
    change a shot's length, or the scene's (or leave the scene's length out).
    """)
TRANSITION_TOO_LONG = _code("F0302", "a transition longer than the shot it overlaps", """
    A transition eats the head of the next shot and a handle of the previous one, so a 3s crossfade next to a
    2s shot cannot fit. Shorten the transition or lengthen the shot.
    """)
LINE_OUTSIDE_SCENE = _code("F0303", "a narration line that starts outside its scene", """
    A line's start (+2s relative to its scene or shot, `at 1:05` absolute, or right after the line before)
    falls outside the scene that holds it. Start it inside the scene, or move it to the scene it belongs to.
    """)
LINE_TALKS_OVER = _code("F0304", "a line that starts while the previous one is half unspoken", """
    Two voice-over lines would be heard on top of each other. Start the second later, or shorten the first.
    A tail that only runs into the next line is warning F0305.
    """)
LINE_OVERRUNS = _code("F0305", "a line likely longer than its slot", """
    The estimated reading time (syllables at a narration rate for the film's language, times the pace, plus
    written pauses) runs past the next line's start or the film's end. Shorten the line, raise its `pace`,
    or give it more room.
    """, severity="warning")
TRANSITION_AT_END = _code("F0306", "a transition that needs a next shot, on the last shot", """
    A crossfade or a wipe blends into the next shot, and the last shot (or card) has none. End the film with
    fade-to-black, dip-to-white or cut: `transition out fade-to-black 2s` fades the end out inside its slot.
    """)
ZERO_LENGTH = _code("F0307", "a shot, card or transition that lasts no time", """
    `shot 0s "…"`, or a length that rounds to no frame at the film's rate (`shot 10ms` at 24 fps). Give it at
    least one frame, or use `transition cut` for an instant change.
    """)
CUES_OUT_OF_ORDER = _code("F0308", "music cues out of time order", """
    Each cue runs until the next one starts, so they must be listed in time order: `1:20` before `0:40` fails.
    """)
CUE_AFTER_END = _code("F0309", "a music cue that starts after the film ends", """
    A cue at 3:00 in a two-minute film would never be heard. Move it inside the film.
    """)
LENGTH_DIFFERS_FROM_DURATION = _code("F0310", "the film's length differs from its declared duration", """
    `duration 2:00` is a target: the scenes add up to something else, by more than a frame. Adjust shot
    lengths, or the declared duration. Every shot and card is a whole number of frames, so at a rate like
    23.976 a 5s shot is 120 frames (5.005s) and lengths in round seconds add up to a little more than
    written; then no shot length fixes it, and the hint says which `duration` to declare.
    """, severity="warning")
TRANSITION_EATS_SEGMENT = _code("F0311", "a transition takes most of a short shot or card", """
    A transition plays inside a slot: `transition in` and the transition into a segment take its first frames,
    and the last segment's `transition out` its final frames (a card's text also fades in and out by itself).
    When they leave less than half of the slot clear, the shot or card is barely seen: a 2s fade-to-black
    before 4s credits, plus the card's own fade, leaves ~1.4s to read them. Shorten the transition, lengthen
    the segment, or use a cut.
    """, "warning")
TWO_TRANSITIONS_AT_CUT = _code("F0312", "two transitions at one cut", """
    A cut has one transition, and this one has two: a segment's `transition out` (or a plain `transition`)
    and the next segment's `transition in`. Keep one of them: `transition out` on the segment before, or
    `transition in` on the one after.
    """)
TRANSITION_NEEDS_DIRECTION = _code("F0313", "`transition fade-from-black` without `in` or `out`", """
    A transition written without a direction plays at the shot's last cut, into the next segment; but a fade
    from black reads as the way a shot begins. Say which: `transition in fade-from-black 1s` fades this shot
    in from black (on the film's first shot, the film opens from black), `transition out fade-to-black 1s`
    dips to black before the next one.
    """)
TRANSITION_AT_START = _code("F0314", "a transition that needs a segment before it, on the first one", """
    `transition in crossfade` on the film's first shot or title card blends from nothing. Open the film with
    `transition in fade-from-black 1s`, `transition in dip-to-white 1s`, or a cut.
    """)

# ---------------------------------------------------------------- colour (F04xx)

BAD_COLOUR = _code("F0401", "a colour that isn't #RRGGBB", """
    Palette colours are six hex digits: `#3A7BD` or `blue` fail. Write e.g. #3A7BD5.
    """)
STOPS_OUT_OF_ORDER = _code("F0402", "palette stops out of time order", """
    The film drifts from one stop to the next, so stops are listed in time order, each after the one before.
    """)
STOP_AFTER_END = _code("F0403", "a palette stop after the film ends", """
    A stop at 3:00 in a two-minute film is never reached. Move it inside the film, or lengthen the scenes.
    """)

# ---------------------------------------------------------------- files (F05xx)

MISSING_FILE = _code("F0501", "a referenced file doesn't exist", """
    A style include, reference image, clip or music file is not there, or its path is not usable (a NUL byte,
    a loop of links). Paths are relative to the film's folder: clip "clips/shot1.mp4".
    """)
FILE_OUTSIDE_PROJECT = _code("F0502", "a referenced file outside the film's folder", """
    Files are confined to the project, so a spec can't read or embed anything else on disk:
    clip "../../secret.mp4", an absolute path, or a symlink pointing out of the folder fails. Move the file
    under the film's folder and use a relative path, or allow the folder it is in: list it in the
    environment variable FILMC_ALLOW_PATHS (absolute folders, separated by `:` like PATH).
    """)
STYLE_NOT_UTF8 = _code("F0503", "an included style file isn't UTF-8", """
    `style include "bible.txt"` names a file whose bytes are not UTF-8 text. Save it as UTF-8.
    """)

# ---------------------------------------------------------------- values (F06xx)

EMPTY_VALUE = _code("F0601", "something required is empty", """
    A required text is empty (`shot 4s ""`), a scene has no shots, or the film has no scenes. Write something,
    or remove it: scene "One" { shot 6s "what we see" }.
    """)
INTENSITY_OUT_OF_RANGE = _code("F0602", "a music intensity outside 0–1", """
    `intensity 5` fails: 0 is near silence, 1 the loudest moment of the score.
    """)
PACE_OUT_OF_RANGE = _code("F0603", "a numeric pace outside 0.5–2.0", """
    `pace 3` fails: 1.0 is a normal narration rate, 0.85 slower, 1.15 faster.
    """)

# ---------------------------------------------------------------- profiles (F070x)

PROFILE_UNREADABLE = _code("F0700", "filmc.toml isn't TOML, or names no such profile", """
    filmc.toml does not parse as TOML (`[profile.preview` without its ]), `profile` is not a table of
    profiles, or the profile asked for (--profile NAME) is neither built in nor defined in the file.
    Fix the TOML, or define [profile.NAME].
    """)
PROFILE_INVALID = _code("F0701", "a profile setting has the wrong type or an unknown key", """
    A setting of the profile does not validate, e.g. concurrency = "many" where a number belongs, or a key
    the profile does not have. docs/profiles.md lists every setting.
    """)
BACKEND_NOT_INSTALLED = _code("F0702", "a profile names a backend that isn't installed or can't serve its layer", """
    `backend = "animatik"` names nothing registered in the filmc.backends entry-point group; or the backend's
    package fails to load; or it is a backend of another layer (`espeak`, a voice, named as the video backend)
    or lacks that layer's methods (the hint then says why). Fix the spelling, name a backend of that layer, or
    pip install the backend's package.
    """)
SECRET_IN_PROFILE = _code("F0703", "a profile option looks like a secret", """
    An option named like api_key, secret, token or password: filmc.toml can be committed, shared or pasted
    into an issue, so keys live in the environment only. Remove it; backends read e.g. ANTHROPIC_API_KEY.
    """)

# ---------------------------------------------------------------- what the backends can make (F071x)

CLIP_LENGTH_UNSUPPORTED = _code("F0710", "no clip length the video backend makes covers a shot", """
    Each shot, plus the handle its transition needs, gets the smallest clip length the profile's video
    backend allows; a 12s shot on a backend that makes 4s and 8s clips fits none. Split the shot into shorter
    shots, or pick a video backend that allows this length.
    """)
PROMPT_TOO_LONG = _code("F0711", "a shot's prompt is longer than the video backend takes", """
    The expanded prompt (style bible, entities, the shot's text) exceeds the backend's character limit, or
    filmc's own limit for any prompt (6,000 characters; 1,000 for a negative prompt). Shorten the style bible
    or the shot's text, or let the claude expander write the prompt (it is told the limit).
    """)
LANGUAGE_UNSUPPORTED = _code("F0712", "the voice backend doesn't speak the film's language", """
    The profile's voice backend declares the languages it speaks, and the film's `language` is not one of
    them. Pick another voice backend in the profile (the hint lists the languages this one speaks).
    """)

# ---------------------------------------------------------------- expectations (F08xx)

UNKNOWN_MEASURE = _code("F0801", "an `expect` line names a measure filmc doesn't take", """
    `expect loudnes -16 LUFS ±1` or `expect no darkness > 1s`: the measures are loudness, true-peak, duration
    and cost; after `no`, black and silence. Fix the spelling (the hint suggests the nearest one).
    """)
WRONG_UNIT = _code("F0802", "an expectation in the wrong unit, or without one", """
    Each measure has its unit: loudness in LUFS, true-peak in dBTP, cost in USD, a duration as a time (2:00,
    0.5s). `expect loudness -16 dB ±1` or `expect cost <= 30` fail: write `-16 LUFS`, `30 USD`.
    """)
BAD_EXPECTATION = _code("F0803", "an expectation whose comparison or tolerance doesn't fit", """
    A target needs a tolerance (`expect loudness -16 LUFS ±1`), a bound takes none (`expect true-peak <= -1
    dBTP`), `no black` and `no silence` take `>` or `>=` and a time (`expect no black > 0.5s`), and a time
    tolerance belongs to a duration only.
    """)
UNKNOWN_SCOPE = _code("F0804", "`within` names no part of the film an expectation can look at", """
    `expect no silence > 2s within narration` looks from the first narration line to the end of the last; the
    only scope is `narration` (leave `within` out to look at the whole film). A film without narration has
    no such stretch, so `within narration` there is an error too.
    """)
EXPECTATION_FAILED = _code("F0810", "the rendered film doesn't meet an expectation", """
    After a render filmc measures the film it wrote (ffmpeg's ebur128, blackdetect and silencedetect, the
    subtitles file, the ledger) and reports each `expect` line it doesn't meet at that line, with what was
    measured; `filmc render` and `filmc test` then exit 5. The film and every asset are kept. Fix the film (or
    the profile's loudness), or the expectation if it asked for the wrong thing.
    """)

# ---------------------------------------------------------------- translations (F09xx)

BAD_TRANSLATE = _code("F0901", "`translate` names the film's own language, or a language twice", """
    `language it` with `translate it, en`, or `translate en, en`: a translation is into another language,
    once. List each language the film is also delivered in once: translate en, fr.
    """)
BAD_LINES_ENTRY = _code("F0902", "a line of a `.lines` override file that isn't `id: text`", """
    An override file (`entropy.en.lines` beside `entropy.film`) holds one translated narration line per
    line, as `s01-l01: Year 2847. [pause 0.6s] Humanity is *extinct*.`, with `#` comments and blank lines
    free. `filmc compile FILE --lang en` lists every line's id. Write the id, a colon, then the text.
    """)
UNKNOWN_LINE_ID = _code("F0903", "an override for a narration line the film doesn't have", """
    The id before the colon names no narration line of the film (`s01-l01` is scene 1's first line).
    `filmc compile FILE --lang en` lists the ids; the hint suggests the nearest one.
    """)
DUPLICATE_LINE_ID = _code("F0904", "a narration line overridden twice in one `.lines` file", """
    Two entries in one override file give the same line: the second would silently win. Keep one.
    """)

# ---------------------------------------------------------------- fitting to the narration (F10xx)

BAD_RANGE = _code("F1001", "a length range whose bounds can't hold a length", """
    `shot 8s..4s` (the low bound above the high one) or `shot 0s..4s` (a bound of no frames): a range is
    `LOW..HIGH`, both at least a frame, LOW at most HIGH. Write e.g. `shot 4s..8s`.
    """)
RANGE_WITHOUT_FIT = _code("F1002", "a length range in a scene that isn't fitted to its narration", """
    A range (`shot 4s..8s`, `scene "x" 10s..20s`) leaves the length to the fit, and only `fit narration`
    chooses it. Add `fit narration` to the scene (or to the film block, for every scene), or write one length.
    """)
SCENE_BOUNDS_UNMET = _code("F1003", "a fitted scene's bounds and its shots' bounds don't overlap", """
    `scene "x" 10s..20s` whose shots add up to at most 8s (or at least 24s) can never be both: the scene's
    length is its shots'. Widen a shot's range, or the scene's.
    """)
NARRATION_DOES_NOT_FIT = _code("F1004", "a fitted scene's narration, as voiced, is longer than its bounds allow", """
    The voice was made first and measured: its lines, from their starts, with their pause-after, need more
    than the scene's shots (or the scene's own `..MAX`) allow. The message says by how much. Raise a shot's
    upper bound (or the scene's), let a fixed shot be a range, or shorten a line or raise its pace.
    """)
NARRATION_MAY_NOT_FIT = _code("F1005", "a fitted scene's narration, estimated from its text, may not fit", """
    Before the voice is made filmc estimates each line's length from its text at the voice's pace; by that
    estimate the scene's bounds are too short. It is a warning: the voice as made decides (F1004 if it
    really doesn't fit). The fix is F1004's.
    """, "warning")
ABSOLUTE_LINE_IN_FIT = _code("F1006", "a line in a fitted scene starts at a time of the film", """
    `say at 1:05 "…"` names a time of the whole film, but fitting moves the scene (and every scene after a
    fitted one). Start it from its scene or shot instead (`say +2s "…"`), or leave the start out to follow
    the line before.
    """)

ALL: Mapping[str, Code] = MappingProxyType(_REGISTRY)


def lookup(text: str) -> Code | None:
    """`F0202`, `f0202` or ` F0202 ` -> its entry; None for a number filmc never used."""
    return _REGISTRY.get(text.strip().upper())
