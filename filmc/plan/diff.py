"""Two Plans -> what changed between them, job by job, the way `terraform plan` shows changes before apply.

Jobs are matched by id. A job's key stands for its output, so the key decides what counts as changed;
the fields that differ say why, and a changed job whose new key is not in the cache is one render would
make (and pay for) again.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from decimal import Decimal
from typing import Literal

from pydantic import Field

from filmc.model import Model
from filmc.plan.model import Job, Plan, money

# What a job's fields are compared on: not its id (the match), key (shown apart) or cache status (not content).
_NOT_COMPARED = {"id", "key", "cached"}


class Words(Model):
    """A run of words in a word diff: in both texts, only in the old one, or only in the new one."""

    op: Literal["same", "removed", "added"]
    text: str


class FieldChange(Model):
    """One value that differs, named by its path in the job (`spec.request.prompt`); None: absent on that side."""

    path: str
    old: str | None
    new: str | None
    words: tuple[Words, ...] = ()   # for text with spaces in it (prompts, narration): what a person compares


class JobChange(Model):
    """A job added, removed or given a new key; `inputs` names the dependencies whose keys changed, which is
    why a job whose own fields are all the same (the mix, after a narration edit) is made again."""

    id: str
    change: Literal["added", "removed", "changed"]
    layer: str
    backend: str
    old_key: str | None = None
    new_key: str | None = None
    fields: tuple[FieldChange, ...] = ()
    inputs: tuple[str, ...] = ()
    old_usd: Decimal | None = None
    new_usd: Decimal | None = None
    reruns: bool = False   # added or changed, and not in the cache: render would make it


class FitChange(Model):
    """A scene fitted to its narration whose fitted length differs between the plans (or that is fitted in one
    only): in frames, with whether the new plan's fit is provisional (estimated, not yet measured)."""

    scene_id: str
    title: str
    old_frames: int | None
    new_frames: int | None
    fps: float
    provisional: bool = False


class PlanDiff(Model):
    """What render would do differently with the new plan than with the old, and what that costs."""

    old_source: str
    new_source: str
    old_profile: str
    new_profile: str
    jobs: tuple[JobChange, ...]       # the new plan's order, then the removed jobs in the old plan's order
    unchanged: int
    rerun_usd: Decimal                # the changed and added jobs render would make: what they cost
    pending: int                      # unchanged jobs not in the cache either: render would make them too
    pending_usd: Decimal
    old_total_usd: Decimal            # every job of each plan, as if nothing were cached
    new_total_usd: Decimal
    delta_usd: Decimal                # new_total_usd - old_total_usd
    # `fit narration`: the scenes whose fitted length moved, and the film's length in frames on each side; absent
    # from the JSON when neither plan fits a scene
    fits: tuple[FitChange, ...] = Field(default=(), exclude_if=lambda fits: not fits)
    frames: tuple[int, int] | None = Field(default=None, exclude_if=lambda f: f is None)

    @property
    def changed(self) -> bool:
        return bool(self.jobs)

    def of(self, change: Literal["added", "removed", "changed"]) -> tuple[JobChange, ...]:
        return tuple(j for j in self.jobs if j.change == change)

    @property
    def reruns(self) -> tuple[JobChange, ...]:
        return tuple(j for j in self.jobs if j.reruns)


def diff_plans(old: Plan, new: Plan, *, names: tuple[str, str] | None = None) -> PlanDiff:
    """The diff stage: pure, two plans in, their differences out; the cache status is the new plan's own.
    `names`: what to call the two sides (the files the user named), else the films the plans were made from."""
    before = {j.id: j for j in old.jobs}
    after = {j.id: j for j in new.jobs}
    changes: list[JobChange] = []
    unchanged: list[Job] = []
    for job in new.jobs:
        was = before.get(job.id)
        if was is None:
            changes.append(JobChange(id=job.id, change="added", layer=job.layer, backend=job.backend,
                                     new_key=job.key, fields=field_changes(None, job), new_usd=job.estimated_usd,
                                     reruns=not job.cached))
        elif was.key != job.key:
            moved = tuple(d for d in job.deps if d in before and d in after and before[d].key != after[d].key)
            changes.append(JobChange(id=job.id, change="changed", layer=job.layer, backend=job.backend,
                                     old_key=was.key, new_key=job.key, fields=field_changes(was, job), inputs=moved,
                                     old_usd=was.estimated_usd, new_usd=job.estimated_usd, reruns=not job.cached))
        else:
            unchanged.append(job)
    changes += [JobChange(id=j.id, change="removed", layer=j.layer, backend=j.backend, old_key=j.key,
                          old_usd=j.estimated_usd) for j in old.jobs if j.id not in after]
    pending = [j for j in unchanged if not j.cached]
    old_name, new_name = names or (old.source, new.source)
    return PlanDiff(
        old_source=old_name, new_source=new_name, old_profile=old.profile.name, new_profile=new.profile.name,
        jobs=tuple(changes), unchanged=len(unchanged),
        rerun_usd=money(sum((c.new_usd or Decimal(0) for c in changes if c.reruns), Decimal(0))),
        pending=len(pending), pending_usd=money(sum((j.estimated_usd for j in pending), Decimal(0))),
        old_total_usd=old.total_usd, new_total_usd=new.total_usd, delta_usd=money(new.total_usd - old.total_usd),
        **fit_changes(old, new))


def fit_changes(old: Plan, new: Plan) -> dict[str, object]:
    """The fitted scenes whose length moved, by scene id, and the film's frames before and after; nothing when
    neither plan is fitted, so other diffs read as before."""
    if not old.film.fit and not new.film.fit:
        return {}
    before = {f.scene_id: f for f in old.film.fit}
    after = {f.scene_id: f for f in new.film.fit}
    tl = new.film.timeline
    changes = []
    for sid in dict.fromkeys([*after, *before]):
        was, now = before.get(sid), after.get(sid)
        if was is not None and now is not None and was.frames == now.frames:
            continue
        shown = now or was
        assert shown is not None
        changes.append(FitChange(scene_id=sid, title=shown.title, old_frames=was.frames if was else None,
                                 new_frames=now.frames if now else None, fps=tl.fps_num / tl.fps_den,
                                 provisional=now.provisional if now else False))
    return {"fits": tuple(changes), "frames": (old.film.timeline.frames, tl.frames)}


def field_changes(old: Job | None, new: Job) -> tuple[FieldChange, ...]:
    """Every leaf value that differs between two versions of a job (all of them for an added job)."""
    before = dict(_leaves(old.model_dump(mode="json", exclude=_NOT_COMPARED))) if old else {}
    after = dict(_leaves(new.model_dump(mode="json", exclude=_NOT_COMPARED)))
    out = []
    for path in [*after, *(p for p in before if p not in after)]:
        was, now = before.get(path), after.get(path)
        if was == now:
            continue
        texts = was is not None and now is not None and (" " in was or " " in now)
        out.append(FieldChange(path=path, old=was, new=now, words=word_diff(was, now) if texts and was and now
                               else ()))
    return tuple(out)


def _leaves(value: object, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, value as text) for each scalar in a job's JSON: `spec.request.prompt`, `spec.lines[0][1]`."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    elif value is not None:
        yield path, value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


def word_diff(old: str, new: str) -> tuple[Words, ...]:
    """Word by word, as `git diff --word-diff` compares prose: a one-word edit in a long prompt is one word."""
    a, b = old.split(), new.split()
    out: list[Words] = []

    def put(op: Literal["same", "removed", "added"], words: list[str]) -> None:
        if not words:
            return
        if out and out[-1].op == op:
            out[-1] = Words(op=op, text=f"{out[-1].text} {' '.join(words)}")
        else:
            out.append(Words(op=op, text=" ".join(words)))

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            put("same", a[i1:i2])
        else:
            put("removed", a[i1:i2])
            put("added", b[j1:j2])
    return tuple(out)
