"""The render-wide --jobs slot a waiting job lends back, and the limits providers share."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from filmc.backend.protocol import Capabilities
from filmc.plan.profiles import load_profile
from filmc.render.gates import Providers, Share


def test_a_lent_slot_lets_another_job_run_and_is_taken_back_after_it() -> None:
    async def scenario() -> list[str]:
        gate = asyncio.Semaphore(1)
        log: list[str] = []

        async def waiting_job() -> None:
            async with Share(gate) as share:
                log.append("remote: created")
                async with share.lent():
                    await asyncio.sleep(0.05)   # the provider works; the slot is free
                    log.append("remote: done waiting")
                log.append("remote: downloading")   # holds a slot again

        async def local_job() -> None:
            await asyncio.sleep(0.01)
            async with Share(gate):
                log.append("local: encoding")
                await asyncio.sleep(0.1)
                log.append("local: done")

        await asyncio.gather(waiting_job(), local_job())
        assert not gate.locked()   # every slot given back exactly once
        return log

    assert asyncio.run(scenario()) == ["remote: created", "local: encoding", "remote: done waiting",
                                       "local: done", "remote: downloading"]


def test_cancelled_while_taking_the_slot_back_releases_nothing_twice() -> None:
    async def scenario() -> int:
        gate = asyncio.Semaphore(1)
        taken = asyncio.Event()

        async def other() -> None:
            async with Share(gate):
                taken.set()
                await asyncio.sleep(0.2)

        async def lender() -> None:
            async with Share(gate) as share, share.lent():
                await taken.wait()   # the slot is taken by `other`: taking it back will block

        other_task = asyncio.ensure_future(other())
        task = asyncio.ensure_future(lender())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await other_task
        return gate._value   # one slot, whatever happened

    assert asyncio.run(scenario()) == 1


def _backend(name: str, provider: str = "") -> SimpleNamespace:
    return SimpleNamespace(name=name, capabilities=Capabilities(layer="video", provider=provider))


def test_backends_of_one_provider_share_its_limit_and_its_cooldown(tmp_path: Path) -> None:
    (tmp_path / "filmc.toml").write_text('[profile.final.voice]\nconcurrency = 3\n[profile.final.music]\n'
                                         'concurrency = 1\n[profile.final.expand]\nbackend = "template"\n', "utf-8")
    profile = load_profile("final", tmp_path)
    backends = SimpleNamespace(for_layer=lambda layer: {
        "video": _backend("runway"), "voice": _backend("elevenlabs", "elevenlabs"),
        "music": _backend("elevenlabs-music", "elevenlabs")}[layer])
    providers = Providers(SimpleNamespace(profile=profile), backends)  # type: ignore[arg-type]
    assert providers.gate("elevenlabs") is providers.gate("elevenlabs-music")
    assert providers.gate("elevenlabs")._value == 3          # the largest its layers allow
    assert providers.cooldown("elevenlabs") is providers.cooldown("elevenlabs-music")
    assert providers.gate("runway") is not providers.gate("elevenlabs")
    assert providers.cooldown("runway") is not providers.cooldown("elevenlabs")


def test_two_waits_at_once_lend_one_slot_and_take_one_back() -> None:
    async def scenario() -> int:
        gate = asyncio.Semaphore(2)

        async def job() -> None:
            async with Share(gate) as share:
                async def wait() -> None:
                    async with share.lent():
                        await asyncio.sleep(0.02)

                await asyncio.gather(wait(), wait())   # one asset from two remote jobs
                assert share.held and gate._value == 1

        await job()
        return gate._value

    assert asyncio.run(scenario()) == 2   # no slot lost, none made up


def test_a_wait_that_fails_does_not_queue_for_a_slot_to_fail() -> None:
    async def scenario() -> float:
        gate = asyncio.Semaphore(1)
        busy = asyncio.Event()

        async def local() -> None:
            async with Share(gate):
                busy.set()
                await asyncio.sleep(10)   # holds the only slot for long

        async def remote() -> None:
            async with Share(gate) as share, share.lent():
                await busy.wait()
                raise RuntimeError("the provider failed the job")

        waiting = asyncio.ensure_future(remote())   # takes the slot first, then lends it while it waits
        await asyncio.sleep(0)
        holder = asyncio.ensure_future(local())     # takes the lent slot and keeps it
        started = time.monotonic()
        with pytest.raises(RuntimeError):
            await asyncio.wait_for(waiting, timeout=5.0)
        took = time.monotonic() - started
        holder.cancel()
        await asyncio.gather(holder, return_exceptions=True)
        assert not gate.locked()
        return took

    assert asyncio.run(scenario()) < 1.0   # failed at once, not after local()'s 10 s
