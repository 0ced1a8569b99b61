"""The `securebase qual` commands end to end on both backends, including refusals without tracebacks."""

from __future__ import annotations

import json

from qual_synth import KEY

from securebase.cli import main as _main


def main(argv: list[str]) -> int:
    return _main(argv)


def _flat(text: str) -> str:  # rich wraps long lines at the terminal width
    return " ".join(text.split())

VTT = """WEBVTT

00:00:00.000 --> 00:00:03.000
<v Interviewer>How is Tomasz getting on at Ashby Fold?

00:00:03.500 --> 00:00:08.000
<v Carer>Tomasz is calmer. Priya Allen from the team visits on Tuesdays.
"""

CODEBOOK = """
- name: Relationships
  definition: Talk about the child's relationships
  codes:
    - name: With carer
      definition: Closeness to the carer
      inclusion: Seeking comfort
      exclusion: Peers
- name: Services
  definition: Contact with services
"""


def test_qual_commands(qual_trial, tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    store, ids, cb_id = qual_trial
    monkeypatch.setenv("SECUREBASE_ENCRYPTION_KEY", KEY)
    db = ["--db", store.url, "--as", "qual1"]
    (tmp_path / "int.vtt").write_text(VTT, encoding="utf-8")
    assert main(["qual", "import", str(tmp_path / "int.vtt"), "--speaker", "carer", "-p", "CARE-0002",
                 "--visit", "baseline", "-x", "Tuesdays=DAY", *db]) == 0
    out = _flat(capsys.readouterr().out)
    assert "pseudonymisation replaced 5 occurrence(s)" in out and "[CHILD]" in out and "Tomasz" not in out
    (tmp_path / "cb.yaml").write_text(CODEBOOK, encoding="utf-8")
    assert main(["qual", "codebook", "create", "Relationships", "--from", str(tmp_path / "cb.yaml"), *db]) == 0
    assert "version 1 with 3 codes" in capsys.readouterr().out
    assert main(["qual", "codebook", "show", "Relationships", *db]) == 0
    assert "Seeking comfort" in capsys.readouterr().out
    assert main(["qual", "list", *db]) == 0
    listing = capsys.readouterr().out
    new_id = max(int(line.split()[1]) for line in listing.splitlines() if "int.vtt" in line)
    for user, (s, e) in (("qual1", (0, 40)), ("qual2", (10, 45))):
        assert main(["qual", "code", str(new_id), "Relationships/With carer", "--start", str(s), "--end", str(e),
                     "-c", "Relationships", "--db", store.url, "--as", user]) == 0
    capsys.readouterr()
    assert main(["qual", "kappa", "-c", "Relationships", "--json", *db]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["unit"] == "character" and res["rows"][0]["code"] == "Relationships/With carer"
    assert res["rows"][0]["table"][1][1] == 30
    assert main(["qual", "matrix", "-c", "Relationships", "--out", str(tmp_path / "m.csv"), *db]) == 0
    assert "CARE-0002" in (tmp_path / "m.csv").read_text(encoding="utf-8")
    assert main(["qual", "export-qdpx", "-c", "Relationships", "--out", str(tmp_path / "r.qdpx"), *db]) == 0
    assert "validated against Project-mrt2019.xsd" in _flat(capsys.readouterr().out)
    # refusals: clear message on stderr, exit code, no traceback
    (tmp_path / "latin.txt").write_bytes("Zoë".encode("latin-1"))
    assert main(["qual", "import", str(tmp_path / "latin.txt"), "--speaker", "carer", "-p", "CARE-0001", *db]) == 2
    err = _flat(capsys.readouterr().err)
    assert "file 'latin.txt' is in an unknown encoding" in err and "Traceback" not in err
    assert main(["qual", "code", str(new_id), "Services", "--start", "5", "--end", "100000", "-c", "Relationships",
                 *db]) == 2
    assert "segment end must be at most" in _flat(capsys.readouterr().err)
    assert main(["qual", "code", str(new_id), str(cb_id), "--start", "0", "--end", "5", "-c", "Relationships",
                 *db]) == 2
    assert "must be a code of codebook 'Relationships' version 1" in _flat(capsys.readouterr().err)
    assert main(["qual", "matrix", "-c", "Relationships", "--arm", "intervention", "--out", str(tmp_path / "x.csv"),
                 *db]) == 4
    assert "blinded to allocation" in _flat(capsys.readouterr().err)
