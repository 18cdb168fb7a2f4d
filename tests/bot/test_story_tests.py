"""training_data/tests/test_stories.yml passes on the trained model (``rasa test core``).

The campaign opener stories there begin with the user turn Rasa logs for
``trigger_intent`` (``EXTERNAL: campaign_opener``). Needs the model `make test`
trained (RAPPORT_MODEL).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_test_story_passes(tmp_path: Path) -> None:
    model = os.environ.get("RAPPORT_MODEL")
    assert model, "set RAPPORT_MODEL to the trained model (make test does)"
    stories = ROOT / "training_data" / "tests" / "test_stories.yml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "rasa",
            "test",
            "core",
            "--model",
            str(Path(model).resolve()),
            "--stories",
            str(stories),
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT / "bot",
        check=True,
        capture_output=True,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    failed = (tmp_path / "failed_test_stories.yml").read_text()
    assert "- story:" not in failed, failed
    report = json.loads((tmp_path / "story_report.json").read_text())
    assert report["accuracy"] == 1.0
    assert "campaign opener accepted" in stories.read_text()
