"""Finding backends: the `filmc.backends` entry points, each plugin checked against its layer when it loads.

Built-ins come through the same entry points as a third-party plugin, so none is second class. A
plugin that fails to import, lacks its layer's methods or declares impossible capabilities is refused
here, by its entry point's name and with the fix, before any job starts or any money is spent.
"""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import EntryPoint, entry_points
from typing import cast

from pydantic import ValidationError

from filmc.backend.capabilities import FILE_BACKEND
from filmc.backend.protocol import (
    MEDIA_LAYERS,
    AnyBackend,
    BackendConfig,
    BackendFactory,
    Capabilities,
    Expander,
    Layer,
    MediaBackend,
    MusicBackend,
    Setup,
    SourceBackend,
    VideoBackend,
    VoiceBackend,
)
from filmc.errors import ConfigError

GROUP = "filmc.backends"

# What each layer's backend must provide, beyond `name`, `version` and `capabilities`.
_PROTOCOLS: dict[Layer | str, tuple[type, tuple[str, ...], tuple[str, ...]]] = {
    "expand": (Expander, ("is_cached", "estimate_tokens"), ("expand_shots",)),
    "video": (VideoBackend, (), ("render",)),
    "voice": (VoiceBackend, (), ("render",)),
    "music": (MusicBackend, (), ("render",)),
    "any": (SourceBackend, (), ("render",)),
}


class PluginError(ConfigError):
    """A backend that is not installed, does not load, or is not what its layer needs."""


@dataclass(frozen=True)
class Backends:
    """The profile's backend for each layer, plus the `file` source: typed, checked, built once per run."""

    expand: Expander
    video: VideoBackend
    voice: VoiceBackend
    music: MusicBackend
    file: SourceBackend

    def for_layer(self, layer: Layer) -> AnyBackend:
        backend: AnyBackend = getattr(self, layer)
        return backend

    def media(self, name: str) -> MediaBackend | None:
        """The media backend a plan's job names, or None if this profile has none by that name."""
        return next((b for b in (self.video, self.voice, self.music, self.file) if b.name == name), None)


class Registry:
    """The installed backends by entry-point name; loading one is deferred until a profile names it."""

    def __init__(self, points: Mapping[str, EntryPoint]) -> None:
        self.points = dict(points)

    @classmethod
    def installed(cls) -> Registry:
        return cls({ep.name: ep for ep in entry_points(group=GROUP)})

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.points))

    def problem(self, name: str, layer: Layer) -> str | None:
        """Why `name` can't serve `layer`, as far as can be told without building it (`filmc check`): not
        installed, fails to import, or a class that lacks the layer's methods or declares another layer."""
        try:
            factory = self._factory(name, layer)
        except PluginError as err:
            return str(err)
        shape = _class_problem(factory, layer)
        return self._misfit(name, layer, shape) if shape else None

    def build(self, name: str, layer: Layer | str, config: BackendConfig, setup: Setup) -> AnyBackend:
        """The backend object for one layer of a profile, checked against that layer's protocol."""
        factory = self._factory(name, layer)
        where = self._where(name)
        try:
            backend = factory(config, setup)
        except (ValueError, TypeError) as err:  # e.g. options = { threads = "many" }
            raise PluginError(f"{layer} backend `{name}` rejected its settings: {err}. Fix its options in "
                              "filmc.toml (see docs/profiles.md).") from None
        except Exception as err:  # a plugin's bug, named, never a traceback
            raise PluginError(f"{layer} backend `{name}` ({where}) failed to start: {type(err).__name__}: {err}. "
                              "Report it to the plugin's authors, or pick another backend in filmc.toml.") from None
        try:
            shape = conformance_problem(backend, layer)
        except Exception as err:  # e.g. a `capabilities` property that raises
            shape = f"reading it raised {type(err).__name__}: {err}"
        if shape:
            raise PluginError(self._misfit(name, layer, shape))
        return cast(AnyBackend, backend)  # its shape was checked just above

    def backends(self, profile_layers: Mapping[Layer, BackendConfig], setup: Setup) -> Backends:
        built = {layer: self.build(config.backend, layer, config, setup) for layer, config in profile_layers.items()}
        source = self.build(FILE_BACKEND, "any", BackendConfig(backend=FILE_BACKEND), setup)
        return Backends(file=source, **built)  # type: ignore[arg-type]  # each checked against its layer

    def _where(self, name: str) -> str:
        return f"entry point `{name} = {self.points[name].value}`"

    def _misfit(self, name: str, layer: Layer | str, shape: str) -> str:
        return (f"backend `{name}` ({self._where(name)}) can't serve the {layer} layer: {shape}. See "
                "docs/backends.md for what each layer needs.")

    def _factory(self, name: str, layer: Layer | str) -> BackendFactory:
        if name not in self.points:
            near = difflib.get_close_matches(name, self.names, n=1, cutoff=0.75)
            raise PluginError(f"{layer} backend `{name}` is not installed: no `{GROUP}` entry point has that name"
                              + (f"; did you mean `{near[0]}`?" if near else "")
                              + f" (installed: {', '.join(self.names) or 'none'}). Install the package that "
                              "provides it, or name another backend in filmc.toml.")
        return _load(self.points[name], self._where(name))


def _load(point: EntryPoint, where: str) -> BackendFactory:
    try:
        factory: BackendFactory = point.load()
        return factory
    except ValidationError as err:  # a model it declares at import, e.g. Capabilities, is impossible
        first = err.errors()[0]
        raise PluginError(f"backend `{point.name}` ({where}) failed to load: it declares impossible "
                          f"{err.title} ({first['msg'].removeprefix('Value error, ')}). Report it to the plugin's "
                          "authors.") from None
    except Exception as err:  # shown to the user by name, never skipped in silence
        raise PluginError(f"backend `{point.name}` ({where}) failed to load: {type(err).__name__}: {err}") from None


def _class_problem(factory: BackendFactory, layer: Layer | str) -> str | None:
    """What a backend class visibly gets wrong before it is built: a method of its layer defined but not
    async, or another layer declared. What it sets in `__init__` only building it tells."""
    if not isinstance(factory, type):
        return None
    _, _, coroutines = _PROTOCOLS[layer]
    sync = next((m for m in coroutines if m in vars(factory) and _surely_sync(getattr(factory, m))), None)
    if sync:
        return f"its `{sync}` must be `async def`"
    declared = getattr(factory, "capabilities", None)
    if isinstance(declared, Capabilities) and not _serves(declared, layer):
        return f"its capabilities declare the {declared.layer} layer"
    return None


def _methods_problem(backend: object, layer: Layer | str) -> str | None:
    """The layer's methods, present and (for those the executor awaits) `async def`; a class or an instance."""
    _, methods, coroutines = _PROTOCOLS[layer]
    for method in methods + coroutines:
        if not callable(getattr(backend, method, None)):
            return f"it has no `{method}` method"
    for method in coroutines:
        if _surely_sync(getattr(backend, method)):
            return f"its `{method}` must be `async def`"
    return None


def _surely_sync(method: object) -> bool:
    """A plain Python function that is not a coroutine function, even unwrapped: awaiting its result would
    fail after it ran, blocking the event loop. Callable objects and compiled functions get the benefit
    of the doubt (the executor then reports a failed job, not a crash)."""
    function = inspect.unwrap(getattr(method, "__func__", method))  # type: ignore[arg-type]
    return inspect.isfunction(function) and not inspect.iscoroutinefunction(function)


def _serves(capabilities: Capabilities, layer: Layer | str) -> bool:
    return capabilities.layer == layer or (capabilities.layer == "any" and layer in MEDIA_LAYERS)


def conformance_problem(backend: object, layer: Layer | str) -> str | None:
    """What `backend` lacks to serve `layer`: a missing method, a sync `render`, or the wrong layer."""
    protocol = _PROTOCOLS[layer][0]
    for attribute, kind in (("name", str), ("version", str), ("capabilities", Capabilities)):
        if not isinstance(getattr(backend, attribute, None), kind):
            return f"it has no `{attribute}` of type {kind.__name__}"
    missing = _methods_problem(backend, layer)
    if missing:
        return missing
    declared: Capabilities = getattr(backend, "capabilities")  # noqa: B009  # checked above; `object` here
    if not _serves(declared, layer):
        return f"its capabilities declare the {declared.layer} layer"
    if not isinstance(backend, protocol):  # the structural check, last: it names nothing when it fails
        return f"it does not implement {protocol.__name__}"
    return None


def require_env(uses: Sequence[tuple[AnyBackend, str]], profile: str,
                also: Sequence[tuple[AnyBackend, str]] = ()) -> None:
    """Every missing key in one message naming the variables (never a value), before anything is sent or spent:
    a user exports them all at once instead of meeting them one paid step at a time. `also`: backends needed
    later (compile needs only the expander's key), named too when the message is given anyway."""

    def missing_of(pairs: Sequence[tuple[AnyBackend, str]]) -> list[tuple[str, str, str]]:
        return [(var, layer, backend.name) for backend, layer in pairs for var in backend.capabilities.env
                if not os.environ.get(var)]

    missing = missing_of(uses)
    if not missing:
        return
    missing += missing_of(also)
    names = sorted({var for var, _, _ in missing})
    needs = "; ".join(f"the {layer} layer (`{name}`) needs {var}" for var, layer, name in missing)
    raise ConfigError(f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} not set: in the `{profile}` profile, "
                      f"{needs}. Export {'it' if len(names) == 1 else 'them'}, or use --profile preview to work "
                      "offline.")
