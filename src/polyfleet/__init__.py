"""polyfleet: plan, place and protect AI compute across TPUs, Trainium and GPUs."""

__version__ = "0.1.0"
