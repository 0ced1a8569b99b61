"""Linkage tests reuse the trial tests' synthetic world (tests/trial/trial_world.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "trial"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
