"""A local multi-node Ray cluster whose nodes carry a fleet's fake accelerators (for tests, benchmarks and
trying the executor on one machine). Nodes take no CPUs: the replica actors ask for none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .spec import NodeSpec


@dataclass
class LocalCluster:
    """A `ray.cluster_utils.Cluster` with one Ray node per NodeSpec; `nodes[i]` is spec `specs[i]`'s node."""

    specs: tuple[NodeSpec, ...]
    cluster: object = None
    nodes: list = field(default_factory=list)

    def node_id(self, i: int) -> str:
        return self.nodes[i].node_id

    def kill(self, i: int, graceful: bool = True) -> None:
        """Remove node i as a crash would (its raylet and every actor on it end)."""
        self.cluster.remove_node(self.nodes[i], allow_graceful=graceful)

    def shutdown(self) -> None:
        import ray
        ray.shutdown()
        self.cluster.shutdown()


def start_local_cluster(specs: Sequence[NodeSpec], *, system_config: dict | None = None) -> LocalCluster:
    """Start a head (no CPUs, no accelerators) and a node per spec, and connect this process to it."""
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "_system_config": system_config or {}})
    nodes = []
    for spec in specs:
        res = dict(spec.resources)
        gpus = res.pop("GPU", None)
        nodes.append(cluster.add_node(num_cpus=0, num_gpus=int(gpus) if gpus else 0, resources=res,
                                      labels=dict(spec.labels)))
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
    return LocalCluster(tuple(specs), cluster, nodes)
