"""The apps form one stack, tenants <- cameras <- playback <- events: an app importing one to its right fails."""

import subprocess
import sys
from pathlib import Path

from django.conf import settings


def test_no_app_imports_an_app_above_it():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout
