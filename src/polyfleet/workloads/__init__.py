"""Facts about work: model architectures, training runs and inference services."""

from .models import MLA, MoE, ModelLibrary, ModelSpec, load_models
from .workload import Bucket, InferenceService, RequestMix, TrainingRun

__all__ = ["Bucket", "InferenceService", "MLA", "ModelLibrary", "ModelSpec", "MoE", "RequestMix", "TrainingRun",
           "load_models"]
