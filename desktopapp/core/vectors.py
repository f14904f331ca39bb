"""The feature vector: plain data shared by the vision models that compute it and the store that
keeps it (sealed), so that neither package has to import the other for its type."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Vector = NDArray[np.float32]
