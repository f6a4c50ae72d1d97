"""Bridges: read the fleet users already have (Kubernetes nodes, SkyPilot clusters, cloud bills) into
scenario sections, and write decisions in the schedulers' own formats (Kueue, SkyPilot)."""

from .bills import BillImport, Paid, read_bill
from .fleet_import import FleetImport, Machine, PoolImport, Unmapped, match_offering
from .kubernetes import fleet_from_nodes, nodes_from_cluster, read_node_list
from .skypilot_status import fleet_from_status, read_status

__all__ = ["BillImport", "FleetImport", "Machine", "Paid", "PoolImport", "Unmapped", "fleet_from_nodes",
           "fleet_from_status", "match_offering", "nodes_from_cluster", "read_bill", "read_node_list", "read_status"]
