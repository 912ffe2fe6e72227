"""torchvision's NMS works beside the CPU torch, whose native torchvision ops cannot load here."""

import subprocess
import sys

import torch
from django.conf import settings

from events.detection.torchvision_compat import ensure_torchvision
from tests.shared import DEMO_CLIP

BOXES = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 9.0]])
SCORES = torch.tensor([0.9, 0.95, 0.7, 0.8])


def test_plain_import_fails_in_this_environment():
    """Why the fallback exists: a fresh interpreter cannot `import torchvision` (CUDA-built wheel)."""
    result = subprocess.run([sys.executable, "-c", "import torchvision"], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "torchvision::nms does not exist" in result.stderr


def test_nms_after_ensure_torchvision():
    ensure_torchvision()
    import torchvision

    # Box 1 (0.95) suppresses its overlaps 0 and 3; box 2 is apart. Highest score first.
    assert torchvision.ops.nms(BOXES, SCORES, 0.5).tolist() == [1, 2]
    assert torchvision.ops.nms(BOXES, SCORES, 0.99).tolist() == [1, 0, 3, 2]
    # Per-class NMS, as ultralytics' non-agnostic NMS does it: different classes never suppress each other.
    kept = torchvision.ops.batched_nms(BOXES, SCORES, torch.tensor([0, 1, 0, 0]), 0.5)
    assert kept.tolist() == [1, 0, 2]


def test_ultralytics_predicts_through_torchvision():
    """A subprocess, so ultralytics imports torchvision itself, after ensure_torchvision."""
    code = (
        "from events.detection.vision import load_detector; import sys, cv2;"
        f"d = load_detector({settings.VMS_DETECTOR_MODEL!r});"
        f"cap = cv2.VideoCapture({DEMO_CLIP!r}); ok, img = cap.read();"
        "print(sorted(o['label'] for o in d.track(img, ['person', 'bus'])));"
        "print('torchvision' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    labels, imported = result.stdout.strip().splitlines()[-2:]
    assert "'bus'" in labels and "'person'" in labels
    assert imported == "True"
