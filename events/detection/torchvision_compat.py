"""Make `import torchvision` work beside a CPU-only torch whose torchvision wheel was built for CUDA.

The pinned torchvision wheel ships a native extension that does not load with the CPU torch build, so its
operators are never defined and `import torchvision` dies in `_meta_registrations` with
`RuntimeError: operator torchvision::nms does not exist`. Ultralytics imports torchvision before predicting
and calls `torchvision.ops.nms`, so when the native import fails we define the two operators that
torchvision registers unconditionally (`nms`, `qnms`) with a CPU kernel, import it again, and let
`torchvision.ops.boxes` (whose only native operator is nms) call them. Other native ops stay unavailable.
"""

import sys
import threading

import torch

_MISSING_OP = "torchvision::nms does not exist"
_NMS_SCHEMA = "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"
_fallback_library: torch.library.Library | None = None
_lock = threading.Lock()  # detector threads of one worker load their models at the same time


def _nms_cpu(dets: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy NMS with torchvision's semantics: kept indices, highest score first."""
    from ultralytics.utils.nms import TorchNMS  # late: ultralytics itself imports torchvision

    return TorchNMS.nms(dets, scores, iou_threshold)


def _define_fallback_ops() -> None:
    global _fallback_library
    # FRAGMENT: the namespace may already hold pieces from the half-loaded native extension.
    library = torch.library.Library("torchvision", "FRAGMENT")
    for name in ("nms", "qnms"):
        library.define(f"{name}{_NMS_SCHEMA}")
        library.impl(name, _nms_cpu, "CPU")
    _fallback_library = library  # the registrations live as long as this object


def ensure_torchvision() -> bool:
    """Import torchvision, registering the CPU fallback operators first if needed.

    Returns True when the fallback was needed (the native torchvision operators are unavailable).
    """
    with _lock:
        return _ensure_torchvision()


def _ensure_torchvision() -> bool:
    if "torchvision.ops" in sys.modules:
        return _fallback_library is not None
    try:
        import torchvision

        return False
    except RuntimeError as exc:
        if _MISSING_OP not in str(exc):
            raise
    # Forget the half-imported package so the second import runs its module code again.
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    _define_fallback_ops()
    import torchvision.ops.boxes

    # boxes.nms refuses to run without the native extension; its operator is ours now.
    torchvision.ops.boxes._assert_has_ops = lambda: None
    return True
