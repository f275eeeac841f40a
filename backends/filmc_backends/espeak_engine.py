"""The offline scratch voice: libespeak-ng from the espeakng-loader wheel via ctypes; no binary needed."""

from __future__ import annotations

import bisect
import ctypes
import difflib
import functools
import math
import os
import pickle
import re
import threading
import wave
from collections.abc import Sequence
from pathlib import Path

import espeakng_loader  # ships no py.typed
import numpy as np
import numpy.typing as npt

from filmc.backend.protocol import WordTiming
from filmc.model import Model


class Spoken(Model):
    """A run of whole words; emphasis=True for words the director marked *like this*."""

    text: str
    emphasis: bool = False


class Pause(Model):
    """Explicit silence the director wrote as [pause 0.8s]; rendered as exact zero samples."""

    seconds: float


class SpeechResult(Model):
    """What the assembler needs to place the narration and its captions without decoding the WAV."""

    duration: float
    sample_rate: int
    words: tuple[WordTiming, ...]


BASE_WPM = 165  # a calm narration pace; espeak's own default (175) sounds hurried for voice-over
_MIN_WPM, _MAX_WPM = 80, 450  # espeakRATE_MINIMUM / espeakRATE_MAXIMUM in speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # otherwise a missing data dir calls exit() inside our process
_CHARS_UTF8, _SSML = 0x01, 0x10
_POS_CHARACTER = 1
_EVENT_LIST_TERMINATED, _EVENT_WORD = 0, 1
_RATE, _VOLUME, _PITCH = 1, 2, 3
_EMPHASIS_OPEN = '<emphasis level="strong"><prosody pitch="+15%" rate="-10%">'
_EMPHASIS_CLOSE = "</prosody></emphasis>"
_VOICED = 64  # |sample| above this (-54 dBFS) counts as sound when finding where a word stops
_COMMON = ("en", "en-gb", "en-us", "it", "fr", "de", "es", "pt")

_LOCK = threading.Lock()  # libespeak-ng is one process-global, non-reentrant synthesiser

Samples = npt.NDArray[np.int16]


class _EventId(ctypes.Union):
    """The `id` union closing espeak_EVENT; only its size and alignment matter here."""

    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """espeak_EVENT, field for field, so the array stride matches the C side."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character offset into the text given to espeak_Synth
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # milliseconds from the start of this espeak_Synth call
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    """espeak_VOICE; `languages` is a packed list of (priority byte, NUL-terminated tag), so no c_char_p."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


class _Token(Model):
    """A written word and the 1-based character span it occupies in the SSML handed to espeak."""

    word: str
    first: int
    last: int


class _Espeak:
    """The one initialised library, its sample rate and voices; use only while holding _LOCK."""

    def __init__(self) -> None:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        data = espeakng_loader.get_data_path()
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise RuntimeError(f"libespeak-ng failed to initialise (data at {data}, status {rate})")
        self.lib, self.sample_rate = lib, int(rate)
        self.voices = _list_voices(lib)
        self.variants = frozenset(p.name for p in (Path(data) / "voices" / "!v").iterdir())
        self._audio: list[bytes] = []
        self._words: list[tuple[int, int]] = []
        self._callback = _SynthCallback(self._on_synth)  # kept on self: ctypes must not free it
        lib.espeak_SetSynthCallback(self._callback)

    def _on_synth(
        self, wav: ctypes._Pointer[ctypes.c_short], count: int, events: ctypes._Pointer[_Event]
    ) -> int:
        """Called by espeak on its own stack per audio chunk; copy out and return 0 to continue."""
        if wav and count > 0:
            self._audio.append(ctypes.string_at(wav, count * ctypes.sizeof(ctypes.c_short)))
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            if events[i].type == _EVENT_WORD:
                self._words.append((events[i].text_position, events[i].audio_position))
            i += 1
        return 0

    def configure(self, voice: str, wpm: int, pitch: int) -> None:
        """Voice first: changing voice may reset parameters, so rate and pitch follow it."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise RuntimeError(f"libespeak-ng refused voice {voice!r}")
        for parameter, value in ((_RATE, wpm), (_PITCH, pitch), (_VOLUME, 100)):
            self.lib.espeak_SetParameter(parameter, value, 0)

    def speak(self, ssml: str) -> tuple[Samples, list[tuple[int, int]]]:
        """Synthesise one SSML text; returns its samples and (text_position, ms) of each WORD event."""
        self._audio, self._words = [], []
        text = ssml.encode()
        status = self.lib.espeak_Synth(
            text, len(text) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _SSML, None, None
        )
        self.lib.espeak_Synchronize()
        if status != 0:
            raise RuntimeError(f"espeak_Synth failed with status {status}")
        samples = np.frombuffer(b"".join(self._audio), dtype=np.int16).copy()
        return samples, self._words


def _list_voices(lib: ctypes.CDLL) -> dict[str, str]:
    """Language tag -> identifier of espeak's preferred voice for it (lowest priority number wins)."""
    best: dict[str, tuple[int, str]] = {}
    voices = lib.espeak_ListVoices(None)
    i = 0
    while voices[i]:
        voice = voices[i].contents
        at = voice.languages
        while (priority := ctypes.string_at(at, 1)[0]) != 0:
            tag = ctypes.string_at(at + 1).decode().lower()
            identifier = voice.identifier.decode()
            if tag not in best or priority < best[tag][0]:
                best[tag] = (priority, identifier)
            at += len(tag) + 2
        i += 1
    return {tag: identifier for tag, (_, identifier) in best.items()}


@functools.cache
def _espeak() -> _Espeak:
    """Initialise once per process; callers hold _LOCK, so this never races."""
    return _Espeak()


def _voice_for(engine: _Espeak, language: str, variant: str | None) -> str:
    """BCP 47 to an espeak voice: the whole tag, then shorter prefixes ('it-IT' -> 'it')."""
    subtags = language.strip().lower().replace("_", "-").split("-")
    found = next(
        (
            engine.voices[tag]
            for n in range(len(subtags), 0, -1)
            if (tag := "-".join(subtags[:n])) in engine.voices
        ),
        None,
    )
    if found is None:
        near = difflib.get_close_matches(language.lower(), list(engine.voices), n=3)
        offer = ", ".join(dict.fromkeys([*near, *(c for c in _COMMON if c in engine.voices)]))
        raise ValueError(
            f"espeak has no voice for language {language!r}; available include {offer} "
            f"({len(engine.voices)} in all)"
        )
    if variant is None:
        return found
    if variant not in engine.variants:
        offer = ", ".join(sorted(engine.variants)[:8])
        raise ValueError(f"unknown espeak voice variant {variant!r}; available include {offer}")
    return f"{found}+{variant}"


def _escape(text: str) -> str:
    """Just enough XML escaping that the director's text can never open or break a tag."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _markup(runs: Sequence[Spoken]) -> tuple[str, list[_Token]]:
    """SSML for one stretch of speech, remembering where each written word lands (espeak counts chars)."""
    ssml, tokens = "", []
    for run in runs:
        ssml += _EMPHASIS_OPEN if run.emphasis else ""
        for match in re.finditer(r"\S+", run.text.replace("\0", "")):
            escaped = _escape(match.group())
            tokens.append(_Token(word=match.group(), first=len(ssml) + 1, last=len(ssml) + len(escaped)))
            ssml += escaped + " "
        ssml += (_EMPHASIS_CLOSE if run.emphasis else "") + " "  # runs are whole words: never glue them
    return ssml, tokens


def _starts(tokens: list[_Token], events: list[tuple[int, int]], rate: int) -> dict[int, int]:
    """Token index -> first sample; several events in one token ('1984', "L'uomo") keep the first."""
    firsts = [t.first for t in tokens]
    starts: dict[int, int] = {}
    floor = 0  # espeak's events are in order; clamping keeps the timings monotonic regardless
    for position, ms in events:
        i = bisect.bisect_right(firsts, position) - 1
        if i >= 0 and position <= tokens[i].last and i not in starts:
            starts[i] = floor = max(ms * rate // 1000, floor)
    return starts


def _timings(
    tokens: list[_Token], events: list[tuple[int, int]], samples: Samples, rate: int, offset: int
) -> list[WordTiming]:
    """Starts are espeak's; a word ends where its sound stops, so sentence gaps are not part of it."""
    starts = sorted(_starts(tokens, events, rate).items())
    voiced = np.flatnonzero(np.abs(samples.astype(np.int32)) > _VOICED)
    words = []
    for n, (i, start) in enumerate(starts):
        limit = starts[n + 1][1] if n + 1 < len(starts) else len(samples)
        inside = voiced[(voiced > start) & (voiced < limit)]
        end = int(inside[-1]) + 1 if len(inside) else limit
        words.append(
            WordTiming(
                word=tokens[i].word,
                start=round((offset + start) / rate, 4),
                end=round((offset + end) / rate, 4),
            )
        )
    return words


def _stretches(parts: Sequence[Spoken | Pause]) -> list[list[Spoken] | Pause]:
    """Consecutive runs are spoken in one go, so intonation flows across emphasis; pauses split them."""
    out: list[list[Spoken] | Pause] = []
    for part in parts:
        if isinstance(part, Pause):
            out.append(part)
        elif out and isinstance(out[-1], list):
            out[-1].append(part)
        else:
            out.append([part])
    return out


def _write_wav(path: Path, samples: Samples, rate: int) -> None:
    """Mono 16-bit PCM, little-endian as WAV requires whatever the host byte order."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())


def _render(engine: _Espeak, parts: Sequence[Spoken | Pause]) -> tuple[Samples, list[WordTiming]]:
    """Concatenate speech and locally made zeros, so a written pause is exactly that long."""
    rate, offset = engine.sample_rate, 0
    chunks: list[Samples] = [np.zeros(0, dtype=np.int16)]  # np.concatenate refuses an empty list
    words: list[WordTiming] = []
    for stretch in _stretches(parts):
        if isinstance(stretch, Pause):
            chunk = np.zeros(round(stretch.seconds * rate), dtype=np.int16)
        else:
            ssml, tokens = _markup(stretch)
            if not tokens:  # only whitespace: espeak would still emit a few ms of silence
                continue
            chunk, events = engine.speak(ssml)
            words += _timings(tokens, events, chunk, rate, offset)
        chunks.append(chunk)
        offset += len(chunk)
    return np.concatenate(chunks), words


def _fresh(engine: _Espeak, voice: str, wpm: int, pitch: int,
           parts: Sequence[Spoken | Pause]) -> tuple[Samples, list[WordTiming]]:
    """Speak in a forked child of the initialised, never-used engine, so every line is the first it speaks.

    libespeak-ng carries state from one utterance to the next that no call resets (not even
    Terminate and Initialize): the same line spoken twice in one process gives different samples, so a
    line's audio would depend on which lines happened to be spoken before it in the same process, and a
    resumed render would not be byte-identical to an uninterrupted one. Forking costs a few ms a line.
    Where there is no fork (Windows) the line is spoken in-process, and is only near-identical.
    """
    if not hasattr(os, "fork"):
        engine.configure(voice, wpm, pitch)
        return _render(engine, parts)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: speak, hand the result over, leave without running the parent's cleanup
        status = 0
        try:
            os.close(read_end)
            engine.configure(voice, wpm, pitch)
            result: object = _render(engine, parts)
        except BaseException as err:   # reported to the parent, which raises it
            result, status = RuntimeError(f"{type(err).__name__}: {err}"), 1
        with os.fdopen(write_end, "wb") as pipe:
            pickle.dump(result, pipe)
        os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    result = pickle.loads(data) if data else RuntimeError("the speech process ended without an answer")
    if isinstance(result, BaseException):
        raise result
    audio, words = result
    return audio, words


def synthesize(
    parts: Sequence[Spoken | Pause],
    language: str,
    out_wav: Path,
    *,
    pace: float = 1.0,
    pitch: int = 50,
    voice_variant: str | None = None,
) -> SpeechResult:
    """Speak the parts into `out_wav` with exact pauses, and report when each written word sounds."""
    if not (math.isfinite(pace) and pace > 0) or not 0 <= pitch <= 100:
        raise ValueError(f"pace must be > 0 and pitch within 0..100, got pace={pace}, pitch={pitch}")
    if any(isinstance(p, Pause) and not (math.isfinite(p.seconds) and p.seconds >= 0) for p in parts):
        raise ValueError("a pause must be a finite, non-negative number of seconds")
    wpm = min(_MAX_WPM, max(_MIN_WPM, round(BASE_WPM * pace)))
    with _LOCK:
        engine = _espeak()
        audio, words = _fresh(engine, _voice_for(engine, language, voice_variant), wpm, pitch, parts)
    _write_wav(out_wav, audio, engine.sample_rate)
    duration = len(audio) / engine.sample_rate
    return SpeechResult(duration=duration, sample_rate=engine.sample_rate, words=tuple(words))
