"""Properties: pseudonymisation leaves no term behind, page pieces rebuild the text, kappa is symmetric,
and every qual command and option is documented in docs/qualitative.md."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from securebase.qualitative.agreement import cohen_kappa
from securebase.qualitative.pseudonymise import pseudonymise
from securebase.qualitative.web import pieces

WORDS = st.sampled_from(["Ellie", "Marsh", "Leeds", "the", "carer", "said", "ELLIE", "ok", "Ellie's", "Leedsy", "-"])


@settings(max_examples=60, deadline=None)
@given(st.lists(WORDS, max_size=30))
def test_no_term_survives_and_counts_match(words: list[str]) -> None:
    text = " ".join(words)
    res = pseudonymise(text, {"user": {"Ellie": "CHILD", "Leeds": "PLACE"}})
    assert not re.search(r"(?<!\w)(ellie|leeds)(?!\w)", res.text, re.IGNORECASE)
    assert res.text.count("[CHILD]") + res.text.count("[PLACE]") == res.total
    assert "Leedsy" in res.text or "Leedsy" not in text


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=40), st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=5))
def test_pieces_rebuild_the_text(text: str, spans: list[tuple[int, int]]) -> None:
    class S:
        def __init__(self, a: int, b: int) -> None:
            self.start, self.end = a, b

    segs = [S(min(a, b) % len(text), max(a, b) % (len(text) + 1)) for a, b in spans]
    segs = [s for s in segs if s.end > s.start]
    assert "".join(p["text"] for p in pieces(text, segs)) == text


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=2, max_size=60))
def test_kappa_symmetric_and_bounded(pairs: list[tuple[bool, bool]]) -> None:
    a, b = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    k1, k2 = cohen_kappa(a, b), cohen_kappa(b, a)
    assert np.allclose(k1, k2, equal_nan=True)
    if not np.isnan(k1[1]):
        assert -1 <= k1[1] <= 1 and 0 <= k1[0] <= 1 and k1[3] <= k1[1] <= k1[4]


def test_every_command_and_option_documented() -> None:
    import typer.main

    from securebase.cli.qualitative import qual_app

    doc = (Path(__file__).parents[2] / "docs" / "qualitative.md").read_text(encoding="utf-8")
    group = typer.main.get_command(qual_app)

    def walk(cmd, path):  # type: ignore[no-untyped-def]
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, [*path, name])
        if not getattr(cmd, "commands", None):
            yield path, cmd

    for path, cmd in walk(group, []):
        assert f"securebase qual {' '.join(path)}" in doc, path
        for p in cmd.params:
            for opt in p.opts:
                if opt.startswith("--") and opt != "--help":
                    assert opt in doc, (path, opt)
