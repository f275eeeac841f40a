"""The picture on a cluster whose head has no CPUs (the usual setup): it holds none itself, so Ray would place it
beside the driver, on the head, and its chunks (pinned to its node) could never run. It goes to a node with CPUs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from filmc.render.ray_executor import fan_out_node
from tests.render.test_ray import render, statuses
from tests.render.test_render import new_project


def test_the_picture_goes_to_the_live_node_with_the_most_cpus() -> None:
    nodes = [{"NodeID": "head", "Alive": True, "Resources": {"memory": 1.0}},
             {"NodeID": "small", "Alive": True, "Resources": {"CPU": 2.0}},
             {"NodeID": "gone", "Alive": False, "Resources": {"CPU": 64.0}},
             {"NodeID": "big", "Alive": True, "Resources": {"CPU": 8.0}}]
    assert fan_out_node(nodes, "head") == "big"
    assert fan_out_node([*nodes[:2], {"NodeID": "twin", "Alive": True, "Resources": {"CPU": 2.0}}], "twin") == "twin"
    assert fan_out_node(nodes[:1], "head") is None


@pytest.fixture
def head_without_cpus() -> Iterator[str]:
    """A head node with no CPUs and a worker node with two: two raylets on this machine."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    cluster.add_node(num_cpus=2)
    try:
        yield cluster.address
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()


@pytest.mark.slow
def test_hello_renders_on_a_cluster_whose_head_has_no_cpus(head_without_cpus: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", head_without_cpus)
    monkeypatch.setenv("FILMC_CACHE", (tmp_path / "store").as_uri())   # two nodes need a shared store
    summary = render(new_project(tmp_path / "film"), executor="ray")
    assert "failed" not in statuses(summary).values(), [o.error for o in summary.outcomes if o.error]
    assert (Path(summary.out_dir) / "hello.mp4").stat().st_size > 0
