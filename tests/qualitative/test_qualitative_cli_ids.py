"""Regression (review E3): integer ids out of the database range are a usage error (exit 2), not an
internal error (exit 70)."""

from __future__ import annotations

from securebase.cli import main
from securebase.cli.qualitative import MAX_ID

HUGE = "99999999999999999999"


CASES = [
    ["qual", "memo", "x", "--transcript", HUGE],
    ["qual", "memo", "x", "--transcript", "0"],
    ["qual", "memo", "x", "--code", HUGE],
    ["qual", "memo", "x", "--code", str(MAX_ID + 1)],
    ["qual", "code", HUGE, "Support", "--start", "0", "--end", "5", "-c", "Carer experience"],
    ["qual", "code", "1", HUGE, "--start", "0", "--end", "5", "-c", "Carer experience"],
    ["qual", "code", "1", "0", "--start", "0", "--end", "5", "-c", "Carer experience"],
    ["qual", "codebook", "show", "Carer experience", "--version", HUGE],
    ["qual", "kappa", "-c", "Carer experience", "--version", HUGE],
    ["qual", "codebook", "new-version", "Carer experience", "--version", HUGE],
]


def test_out_of_range_ids_are_usage_errors(qual_trial, capsys) -> None:  # type: ignore[no-untyped-def]
    store, _ids, _cb = qual_trial
    for args in CASES:
        assert main([*args, "--db", store.url, "--as", "qual1"]) == 2, args
        err = " ".join(capsys.readouterr().err.split())
        assert "Internal error" not in err and "Traceback" not in err, (args, err)
        assert "Invalid value" in err or str(MAX_ID) in err, (args, err)
    # the largest id is accepted by the parser; the service then answers that it does not exist (NotFound: 3)
    assert main(["qual", "memo", "x", "--transcript", str(MAX_ID), "--db", store.url, "--as", "qual1"]) == 3
    assert "transcript 2147483647 is not in trial" in capsys.readouterr().err
