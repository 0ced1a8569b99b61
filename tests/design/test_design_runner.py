"""The seeded runner: order, reproducibility, caching, and a real two-worker LocalCluster."""

from __future__ import annotations

import numpy as np
import pytest

from securebase.analysis.design.power import PowerScenario, simulate_power
from securebase.analysis.design.simulate import make_parameters
from securebase.analysis.runner import ResultCache, run_cached, run_seeded, scenario_hash
from securebase.errors import ConfigurationError, FieldError


def _draw(seed_seq: np.random.SeedSequence, n: int, scale: float = 1.0) -> list[float]:
    return (np.random.default_rng(seed_seq).standard_normal(n) * scale).tolist()


def test_batches_in_order_with_remainder_and_spawned_seeds() -> None:
    out = run_seeded(_draw, seed=7, n_total=25, batch_size=10, progress=False, args=(2.0,))
    assert [len(b) for b in out] == [10, 10, 5]
    seqs = np.random.SeedSequence(7).spawn(3)
    assert out[1] == (np.random.default_rng(seqs[1]).standard_normal(10) * 2.0).tolist()
    assert run_seeded(_draw, seed=7, n_total=25, batch_size=10, progress=False, args=(2.0,)) == out
    assert run_seeded(_draw, seed=8, n_total=25, batch_size=10, progress=False, args=(2.0,)) != out


def test_bad_arguments() -> None:
    with pytest.raises(FieldError, match="n_total"):
        run_seeded(_draw, seed=1, n_total=0, batch_size=1)
    with pytest.raises(FieldError, match="seed"):
        run_seeded(_draw, seed=-1, n_total=1, batch_size=1)
    with pytest.raises(FieldError, match="workers"):
        run_seeded(_draw, seed=1, n_total=1, batch_size=1, workers=0)


def test_cache_round_trip(tmp_path) -> None:
    calls = []

    def task(ss, n):
        calls.append(n)
        return {"x": np.arange(n, dtype=float)}

    a, hit_a = run_cached(task, {"k": 1}, cache_dir=tmp_path, seed=1, n_total=4, batch_size=2, progress=False)
    b, hit_b = run_cached(task, {"k": 1}, cache_dir=tmp_path, seed=1, n_total=4, batch_size=2, progress=False)
    assert (hit_a, hit_b) == (False, True) and calls == [2, 2]
    np.testing.assert_array_equal(b[0]["x"], a[0]["x"])
    assert scenario_hash({"a": 1, "b": [1, 2]}) == scenario_hash({"b": [1, 2], "a": 1})
    assert scenario_hash({"a": 1}) != scenario_hash({"a": 2})
    cache = ResultCache(tmp_path)
    cache.path("broken").parent.mkdir(parents=True, exist_ok=True)
    cache.path("broken").write_text("{not json")
    assert cache.get("broken") is None


def test_two_worker_local_cluster_gives_the_identical_power_estimate() -> None:
    pytest.importorskip("dask.distributed")
    sc = PowerScenario(params=make_parameters(n_participants=120))
    one = simulate_power(sc, n_sims=240, seed=11, batch_size=60, workers=1)
    two = simulate_power(sc, n_sims=240, seed=11, batch_size=60, workers=2)
    assert two.power == one.power and two.type_one_error == one.type_one_error
    assert two.bias == one.bias and two.coverage == one.coverage


def test_unreachable_scheduler_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("securebase.analysis.runner.CONNECT_TIMEOUT", "1s")
    with pytest.raises(ConfigurationError, match="could not connect"):
        run_seeded(_draw, seed=1, n_total=2, batch_size=1, scheduler="tcp://127.0.0.1:9", progress=False)
