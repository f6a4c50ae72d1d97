"""Physics and money: performance models, efficiency calibration and the rate table."""

from .calibration import Check, check_all, load_calibration
from .compare import compare_inference, compare_training
from .efficiency import Efficiency, default_efficiency, load_efficiency
from .estimate import Context, InferenceEstimate, TrainingEstimate, estimate_inference, estimate_training
from .power import it_watts_per_chip
from .ratetable import RateTable, build_rate_table

__all__ = ["Check", "Context", "Efficiency", "InferenceEstimate", "RateTable", "TrainingEstimate",
           "build_rate_table", "check_all", "compare_inference", "compare_training", "default_efficiency",
           "estimate_inference", "estimate_training", "it_watts_per_chip", "load_calibration", "load_efficiency"]
