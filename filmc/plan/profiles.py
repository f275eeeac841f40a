"""Profiles: which backend makes each layer, with which model, at what concurrency and price.

The `.film` file says what; `filmc.toml` beside it says how (like dbt's profiles). Two profiles
are built in — `preview` (offline, free) and `final` (the real services) — and a project file may
override any of their layers or add profiles of its own.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from filmc import codes
from filmc.backend.capabilities import BackendConfig, Layer
from filmc.diagnostics import Diagnostics, FilmError
from filmc.errors import UsageError
from filmc.model import Model, Span

LAYERS: tuple[Layer, ...] = ("expand", "video", "voice", "music")
PROFILE_FILE = "filmc.toml"


class Profile(Model):
    name: str
    expand: BackendConfig
    video: BackendConfig
    voice: BackendConfig
    music: BackendConfig
    grade: Literal["lut", "tint", "none"] = "lut"   # how the picture is pulled towards the palette
    loudness: float = Field(default=-16.0, ge=-40.0, le=-5.0)  # integrated LUFS of the final mix (EBU R128)
    true_peak: float = Field(default=-1.0, ge=-20.0, le=0.0)   # dBTP ceiling
    cache_dir: str = ".filmc/cache"
    voices: dict[str, str] = Field(default_factory=dict)  # film voice name -> the service's voice id
    # a quick look, not a delivery: the picture at half size and x264's fastest preset, sound and timing untouched;
    # absent from the plan's JSON when off, so plans written before it read (and compare) the same
    draft: bool = Field(default=False, exclude_if=lambda on: not on)
    # make the clip files of drawn previz (the animatic) too, for an editor: the picture is the same either way
    keep_clips: bool = Field(default=False, exclude_if=lambda on: not on)
    # where the jobs run: `local` (this process), `ray` (a Ray cluster: RAY_ADDRESS's, else a local one) or
    # `ray://HOST:PORT`; and a shared content-addressed store (`s3://…`, `gs://…`, `file://…`) that workers read
    # and write. Neither changes a key, and both are absent from the plan's JSON when unset, as `draft` is.
    executor: str = Field(default="local", pattern=r"^(local|ray|ray://\S+)$", exclude_if=lambda v: v == "local")
    shared_cache: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9+.-]*://\S+$",
                                     exclude_if=lambda v: v is None)

    def layer(self, layer: Layer) -> BackendConfig:
        config: BackendConfig = getattr(self, layer)
        return config


BUILTIN: dict[str, dict[str, Any]] = {
    "preview": {
        "grade": "tint",  # previz: a chroma cast costs ~0.3 ms a frame, the OKLab LUT ~10 ms
        "expand": {"backend": "template"},
        "video": {"backend": "animatic", "concurrency": 2},
        "voice": {"backend": "espeak", "concurrency": 1},
        "music": {"backend": "synth", "concurrency": 1},
    },
    "final": {
        "expand": {"backend": "claude", "concurrency": 4, "timeout": 120},   # model: the backend's default
        "video": {"backend": "gemini-omni", "model": "gemini-omni-1.2-flash", "concurrency": 2},
        "voice": {"backend": "elevenlabs", "model": "eleven_multilingual_v2", "concurrency": 2},
        "music": {"backend": "elevenlabs-music", "model": "music_v1", "concurrency": 1},
    },
}


class _Locator:
    """Line and column of a key in filmc.toml, since tomllib keeps no positions."""

    def __init__(self, path: str, text: str) -> None:
        self.path, self.lines = path, text.splitlines()

    def find(self, *keys: str) -> Span:
        section_re = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
        section: list[str] = []
        best = Span(path=self.path, line=1, column=1, end_line=1, end_column=2)
        for n, line in enumerate(self.lines, start=1):
            if m := section_re.match(line):
                section = [p.strip().strip('"') for p in m.group(1).split(".")]
                if section == list(keys):
                    best = self._span(n, line, m.start(1), m.end(1))
                continue
            for depth in range(len(keys), 0, -1):
                rest = keys[len(section):] if section == list(keys[: len(section)]) else ()
                if rest and (m := re.match(rf"^\s*({re.escape(rest[0])})\s*=", line)):
                    return self._span(n, line, m.start(1), m.end(1))
                del depth
                break
        return best

    def _span(self, n: int, line: str, start: int, end: int) -> Span:
        return Span(path=self.path, line=n, column=start + 1, end_line=n, end_column=end + 1)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """filmc.toml over a built-in profile, key by key. A layer given another backend starts afresh: the
    built-in's model and options belong to the backend it replaces (espeak has no `eleven_multilingual_v2`)."""
    if "backend" in override and override["backend"] != base.get("backend"):
        base = {k: v for k, v in base.items() if k not in ("model", "options", "price")}
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_profile(name: str, project_dir: Path) -> Profile:
    """Built-in profile merged with the project's filmc.toml; every mistake is a diagnostic in that file."""
    path = project_dir / PROFILE_FILE
    relative = os.path.relpath(path)
    shown = relative if not relative.startswith("..") else str(path)  # as the user would type it
    text = path.read_text("utf-8") if path.is_file() else ""
    diags = Diagnostics()
    loc = _Locator(shown, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        line = int(m.group(1)) if (m := re.search(r"line (\d+)", str(err))) else 1
        col = int(m.group(1)) if (m := re.search(r"column (\d+)", str(err))) else 1
        raise FilmError([_toml_error(shown, str(err), line, col)]) from None
    profiles = data.get("profile", {})
    if not isinstance(profiles, dict) or not isinstance(profiles.get(name, {}), dict):
        raise FilmError([_toml_error(shown, "`profile` must be a table of profiles", *_line_of(loc, name), hint=(
            f"write sections like [profile.{name}.video] with backend = \"…\" inside"))])
    if name not in BUILTIN and name not in profiles and not path.is_file():   # nowhere to point: not a file error
        near = difflib.get_close_matches(name, list(BUILTIN), n=1)
        raise UsageError(f"no profile named `{name}`{f' (did you mean `{near[0]}`?)' if near else ''}: the "
                         f"built-in profiles are {', '.join(sorted(BUILTIN))}, and "
                         f"there is no {shown} to define more (create it with a [profile.{name}] table)")
    if name not in BUILTIN and name not in profiles:
        known = sorted(set(BUILTIN) | set(profiles))
        raise FilmError([_toml_error(shown, f"no profile named `{name}`", 1, 1,
                                     hint=f"known profiles: {', '.join(known)}; define [profile.{name}] in "
                                     f"{PROFILE_FILE}")])
    merged = _merge(BUILTIN.get(name, BUILTIN["preview"]), profiles.get(name, {}))
    try:
        profile = Profile.model_validate({"name": name, **merged})
    except ValidationError as err:
        for problem in err.errors():
            keys = ("profile", name, *(str(p) for p in problem["loc"]))
            diags.error(codes.PROFILE_INVALID,
                        f"profile `{name}`: {'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}",
                        loc.find(*keys), hint="see docs/profiles.md for every setting")
        raise FilmError(diags.sorted()) from None
    _check_backends(profile, loc, diags)
    _check_secrets(profile, loc, diags)
    diags.raise_if_errors()
    return profile


_SECRET = re.compile(r"(api[_-]?key|secret|token|password)", re.IGNORECASE)
# Values shaped like keys, whatever the option is called: provider prefixes, or a long run of letters and
# digits mixed (model names and paths have separators or are short).
_SECRET_VALUE = re.compile(r"^(sk|rk|pk|xi|key)[-_][A-Za-z0-9_-]{8,}$|^AIza[A-Za-z0-9_-]{20,}$"
                           r"|^(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{32,}$")


def _check_secrets(profile: Profile, loc: _Locator, diags: Diagnostics) -> None:
    """Keys live in the environment only: a file can be committed, shared or pasted into an issue."""
    for layer in LAYERS:
        for option, value in profile.layer(layer).options.items():
            if _SECRET.search(option) or (isinstance(value, str) and _SECRET_VALUE.match(value)):
                diags.error(codes.SECRET_IN_PROFILE, f"profile `{profile.name}`: `{option}` looks like a secret",
                            loc.find("profile", profile.name, layer, "options", option),
                            hint="remove it from filmc.toml; backends read their keys from environment variables")
    if profile.shared_cache and "@" in profile.shared_cache.split("://", 1)[-1].split("/", 1)[0]:
        # `s3://user:pass@bucket`: it would be written into every plan, manifest and message
        diags.error(codes.SECRET_IN_PROFILE, f"profile `{profile.name}`: `shared_cache` holds credentials in its URL",
                    loc.find("profile", profile.name, "shared_cache"),
                    hint="give the URL without `user:pass@`; the store reads its credentials from the environment "
                         "(AWS_PROFILE, AWS_ACCESS_KEY_ID…, an instance role)")


def _check_backends(profile: Profile, loc: _Locator, diags: Diagnostics) -> None:
    from filmc.backend.registry import Registry

    registry = Registry.installed()
    for layer in LAYERS:
        config = profile.layer(layer)
        problem = registry.problem(config.backend, layer)
        if problem is None:
            continue
        missing = config.backend not in registry.names
        diags.error(codes.BACKEND_NOT_INSTALLED, f"profile `{profile.name}`: {layer} backend `{config.backend}` is "
                    + ("not installed" if missing else "installed but can't be used for it"),
                    loc.find("profile", profile.name, layer, "backend"), hint=problem)


def _line_of(loc: _Locator, name: str) -> tuple[int, int]:
    span = loc.find("profile", name)
    return span.line, span.column


def _toml_error(path: str, message: str, line: int, col: int, hint: str | None = None) -> Any:
    from filmc.diagnostics import Diagnostic

    return Diagnostic(severity="error", code=codes.PROFILE_UNREADABLE.code, message=message,
                      span=Span(path=path, line=line, column=col, end_line=line, end_column=col + 1),
                      hint=hint or "fix the TOML syntax")
