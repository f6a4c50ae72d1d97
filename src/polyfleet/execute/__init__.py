"""Execute: apply placements on Ray (accelerators as custom resources, replicas as actors, training gangs
as placement groups, failover through `place`). `spec` is plain data and needs no Ray; `ray` and
`cluster` import Ray when imported."""

from .spec import GangSpec, Hardware, NodeSpec, ReplicaSpec, gang_spec, hardware, label_value, node_specs, replica_spec

__all__ = ["GangSpec", "Hardware", "NodeSpec", "ReplicaSpec", "gang_spec", "hardware", "label_value", "node_specs",
           "replica_spec"]
