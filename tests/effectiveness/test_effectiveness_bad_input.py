"""Bad input gives a clear DataError naming the problem, never a traceback or a silent wrong number."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from securebase.analysis.effectiveness import (
    Ancova,
    Cace,
    Cox,
    Logistic,
    Mmrm,
    MultipleImputation,
    NegativeBinomial,
    PartiallyNested,
    adjust,
)
from securebase.errors import DataError

REF = Path(__file__).resolve().parents[1] / "reference" / "effectiveness"
COVS = ["sdq_total_0", "site", "age_band", "care_status"]


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    return pd.read_csv(REF / "trial.csv")


ESTIMATORS = [
    lambda: Ancova("sdq_total_12", COVS),
    lambda: Logistic("maltreatment_12", COVS),
    lambda: NegativeBinomial("exclusions_12", COVS),
    lambda: Cox("placement_end_time", "placement_end_event", ["sdq_total_0"], strata=["site"]),
    lambda: Cace("sdq_total_12", COVS),
]


@pytest.mark.parametrize("make", ESTIMATORS)
def test_an_arm_with_no_participants(trial, make):
    with pytest.raises(DataError, match="arm 'usual_care' has no participants"):
        make().fit(trial[trial.treat == 1])


def test_an_arm_with_no_outcome_data(trial):
    d = trial.copy()
    d.loc[d.treat == 1, "sdq_total_12"] = np.nan
    with pytest.raises(DataError, match="arm 'intervention' has no participants with complete data"):
        Ancova("sdq_total_12", COVS).fit(d)


def test_mmrm_and_partially_nested_one_arm(trial):
    v = pd.read_csv(REF / "visits.csv")
    with pytest.raises(DataError, match="arm 'intervention' has no participants"):
        Mmrm("sdq_total", baseline="sdq_total_0", covariates=["site"]).fit(v[v.treat == 0])
    with pytest.raises(DataError, match="arm 'usual_care' has no participants"):
        PartiallyNested("sdq_total_12", COVS).fit(trial[trial.treat == 1])


@pytest.mark.parametrize("make", ESTIMATORS[:3])
def test_a_constant_covariate(trial, make):
    d = trial.assign(site="S1")
    with pytest.raises(DataError, match="covariate 'site' is constant"):
        make().fit(d)
    d = trial.assign(sdq_total_0=10.0)
    with pytest.raises(DataError, match="covariate 'sdq_total_0' is constant"):
        make().fit(d)


def test_a_factor_level_with_no_events(trial):
    d = trial.copy()
    d.loc[d.care_status == "kinship", "maltreatment_12"] = 0.0
    with pytest.raises(DataError, match="level 'kinship' of factor 'care_status' has no events"):
        Logistic("maltreatment_12", COVS).fit(d)
    d = trial.copy()
    d.loc[d.care_status == "kinship", "placement_end_event"] = 0
    with pytest.raises(DataError, match="level 'kinship' of factor 'care_status' has no events"):
        Cox("placement_end_time", "placement_end_event", ["care_status"]).fit(d)
    d = trial.copy()
    d.loc[d.site == "S3", "exclusions_12"] = 0.0
    with pytest.raises(DataError, match="level 'S3' of factor 'site' has no counts above zero"):
        NegativeBinomial("exclusions_12", COVS).fit(d)


def test_no_events_in_an_arm(trial):
    d = trial.copy()
    d.loc[d.treat == 1, "maltreatment_12"] = 0.0
    with pytest.raises(DataError, match="level 'intervention' of factor '_arm' has no events"):
        Logistic("maltreatment_12", COVS).fit(d)


def test_collinear_covariates_and_missing_columns(trial):
    with pytest.raises(DataError, match="'age_copy' is a linear combination"):
        Ancova("sdq_total_12", ["sdq_total_0", "age_years", "age_copy"]).fit(trial.assign(age_copy=trial.age_years * 2))
    with pytest.raises(DataError, match=r"column\(s\) \['rpq_total_12'\] not in the dataset"):
        Ancova("rpq_total_12", COVS).fit(trial)


def test_bad_codes(trial):
    with pytest.raises(DataError, match="outcome must be 0 or 1"):
        Logistic("sdq_total_12", COVS).fit(trial)
    with pytest.raises(DataError, match="non-negative whole-number count"):
        NegativeBinomial("sdq_total_12", COVS).fit(trial.assign(sdq_total_12=trial.sdq_total_12 + 0.5))
    with pytest.raises(DataError, match="'treat' must be 1"):
        Ancova("sdq_total_12", COVS).fit(trial.assign(treat=trial.treat.replace(0, 2)))
    with pytest.raises(DataError, match="usual-care participants have 'complier' = 1"):
        Cace("sdq_total_12", COVS).fit(trial.assign(complier=1))
    with pytest.raises(DataError, match="between 0 and 1"):
        adjust([0.2, 1.5], "holm")


def test_imputation_inputs(trial):
    with pytest.raises(DataError, match="predictor\\(s\\) \\['sdq_total_6'\\] have missing values"):
        MultipleImputation(Ancova("sdq_total_12", COVS), impute=["sdq_total_12"], predictors=["sdq_total_6"]).fit(trial)
    with pytest.raises(DataError, match="must be numeric"):
        MultipleImputation(Ancova("sdq_total_12", COVS), impute=["site"], predictors=["sdq_total_0"]).fit(trial)


def test_warnings_are_kept_on_results(trial):
    res = Logistic("maltreatment_12", COVS).fit(trial.assign(maltreatment_12=trial.maltreatment_12.where(
        trial.index % 10 != 0)))
    assert any("rows dropped" in w for w in res.warnings)
    d = res.to_dict()
    assert d["warnings"] == list(res.warnings) and d["direction"] == "intervention minus usual care"
    assert "odds ratio" in res.summary()


def test_subgroup_level_empty_in_one_arm_is_a_clear_error() -> None:
    """A treat-by-level column of zeros (the level has nobody in the intervention arm) is refused."""
    import numpy as np
    import pandas as pd

    from securebase.analysis.effectiveness import Ancova
    from securebase.errors import DataError

    rng = np.random.default_rng(3)
    n = 40
    d = pd.DataFrame({"treat": np.repeat([0, 1], n // 2), "y0": rng.normal(size=n), "y": rng.normal(size=n),
                      "g": ["a"] * 18 + ["b"] * 2 + ["a"] * 20})
    try:
        Ancova("y", ["y0"], interaction="g").fit(d)
    except DataError as err:
        assert "no participants in one arm" in str(err) or "linear combination" in str(err)
    else:  # pragma: no cover
        raise AssertionError("expected a DataError")
