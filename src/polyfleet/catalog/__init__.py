"""Facts: accelerators, runtimes, providers, regions and offerings, each figure with its source."""

from .figures import STATUSES, Figure, Source
from .load import load_catalog
from .model import BYTES_PER_ELEMENT, DTYPES, FAMILIES, TERMS, Accelerator, Offering, Provider, Region, Runtime
from .store import Catalog

__all__ = ["Accelerator", "BYTES_PER_ELEMENT", "Catalog", "DTYPES", "FAMILIES", "Figure", "Offering", "Provider",
           "Region", "Runtime", "STATUSES", "Source", "TERMS", "load_catalog"]
