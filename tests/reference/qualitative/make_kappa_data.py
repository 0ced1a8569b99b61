"""Generate the synthetic reference set for coder agreement (rerun: .venv/bin/python make_kappa_data.py).

Writes kappa_texts.csv (transcript, length, paragraph units as start:end;...) and kappa_segments.csv
(transcript, code, coder, start, end): three coders, three codes, six made-up transcripts of random
length, segments placed at random with seed 20261126. R (kappa.R) expands them into ratings itself.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
SEED = 20261126


def main() -> None:
    rng = np.random.default_rng(SEED)
    texts, segs = [], []
    for t in range(6):
        # paragraphs of random length separated by one newline
        lengths = rng.integers(40, 160, size=rng.integers(5, 9))
        units, pos = [], 0
        for n in lengths:
            units.append((pos, pos + int(n)))
            pos += int(n) + 1
        length = pos - 1
        texts.append({"transcript": f"T{t + 1}", "length": length,
                      "units": ";".join(f"{a}:{b}" for a, b in units)})
        for code in ("Change", "Support", "Video feedback"):
            # a shared "true" set of ranges that each coder finds with jitter, misses or adds to
            truth = [(int(s), int(min(length, s + rng.integers(15, 120))))
                     for s in rng.integers(0, length - 20, size=rng.integers(1, 4))]
            for coder in ("coder_a", "coder_b", "coder_c"):
                for s, e in truth:
                    if rng.random() < 0.2:
                        continue
                    js, je = (int(x) for x in rng.integers(-12, 13, size=2))
                    a, b = max(0, s + js), min(length, e + je)
                    if b > a:
                        segs.append({"transcript": f"T{t + 1}", "code": code, "coder": coder, "start": a, "end": b})
                if rng.random() < 0.3:
                    s = int(rng.integers(0, length - 10))
                    segs.append({"transcript": f"T{t + 1}", "code": code, "coder": coder, "start": s,
                                 "end": int(min(length, s + rng.integers(5, 60)))})
    with (HERE / "kappa_texts.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, ["transcript", "length", "units"])
        w.writeheader()
        w.writerows(texts)
    with (HERE / "kappa_segments.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, ["transcript", "code", "coder", "start", "end"])
        w.writeheader()
        w.writerows(segs)


if __name__ == "__main__":
    main()
