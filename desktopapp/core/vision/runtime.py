"""onnxruntime sessions with capped thread counts, so N cameras share two cores fairly."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from desktopapp.core.vision.registry import ModelError, ModelProblem

log = logging.getLogger(__name__)


def onnx_session(
    path: Path,
    model_id: str,
    threads: int,
    *,
    model_bytes: bytes | None = None,
    optimisation: str = "ORT_ENABLE_ALL",
) -> Any:
    """A CPU InferenceSession for ``path`` (or for ``model_bytes`` read and adapted from it),
    its graph optimised at the named ``onnxruntime.GraphOptimizationLevel`` (onnxruntime's
    default, all of them, unless a network measures faster with fewer); a model onnxruntime
    cannot load is a ModelError naming ``path``."""
    import onnxruntime as ort  # noqa: PLC0415 - heavy import, only where a session is needed

    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, optimisation)
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(
            model_bytes if model_bytes is not None else str(path),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
    except Exception as exc:  # onnxruntime raises its own untyped Fail/InvalidGraph errors
        log.error("onnxruntime cannot load %s: %s", path, exc)
        raise ModelError(ModelProblem.CORRUPT, model_id, path, str(exc)) from exc
