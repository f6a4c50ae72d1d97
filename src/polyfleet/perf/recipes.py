"""Training stacks' memory recipes as arrays for the vectorised training model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..catalog.model import MemoryRecipe
from .training import ACTIVATION_LAYERS, DEFAULT_STATE_BYTES


def recipe_arrays(recipes: Sequence[MemoryRecipe | None]) -> tuple[np.ndarray, np.ndarray]:
    """(state bytes per parameter, activation bytes per token per layer / d_model) per case;
    a stack with no recipe gets mixed precision with fp32 Adam and full recomputation."""
    state = np.array([r.state_bytes_per_param if r else DEFAULT_STATE_BYTES for r in recipes], dtype=float)
    act = np.array([ACTIVATION_LAYERS[r.activations] if r else ACTIVATION_LAYERS["full-remat"] for r in recipes],
                   dtype=float)
    return state, act
