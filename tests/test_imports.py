"""segcore stays a light library: importing it, and the CLI's non-learning commands, load no app
or heavy learning package (plotly, Streamlit, torch, scikit-learn)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("plotly", "streamlit", "torch", "sklearn", "segmentation_models_pytorch")


def loaded_heavy_packages(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter and list the heavy packages it left in sys.modules."""
    probe = (
        f"{code}\nimport sys, json\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_segcore_and_its_modules_loads_no_heavy_package():
    code = ("import segcore, segcore.cli, segcore.compare, segcore.metrics, segcore.robustness, "
            "segcore.synthetic, segcore.viz, segcore.instances, segcore.samples, segcore.methods.unet, "
            "segcore.methods.clustering")
    assert loaded_heavy_packages(code) == []


def test_cli_threshold_run_loads_no_heavy_package(tmp_path):
    image = tmp_path / "in.png"
    Image.fromarray(np.tile(np.arange(64, dtype=np.uint8), (32, 1))).save(image)
    code = ("import contextlib, io\nfrom segcore.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert main(['methods']) == 0\n"
            f"    assert main(['segment', {str(image)!r}, '--method', 'threshold', "
            f"'--out', {str(tmp_path / 'mask.png')!r}]) == 0")
    assert loaded_heavy_packages(code) == []


def test_clustering_warm_up_imports_scikit_learn_ahead_of_the_first_run():
    code = "from segcore.methods.clustering import warm_up\nwarm_up()"
    assert "sklearn" in loaded_heavy_packages(code)
