"""Files of ../shared (beside the checkout, wherever it is) that tests use."""

from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEMO_CLIP = str(SHARED / "media" / "demo-street.mp4")
