"""``securebase design``: sample size, simulated trials and power by simulation (docs/design.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import typer
import yaml

from securebase.cells import frame_to_csv
from securebase.cli._common import console, settings
from securebase.errors import FieldError

design_app = typer.Typer(help="Trial design: sample size, simulated trials, power by simulation.",
                         no_args_is_help=True)


def _need(name: str, value: Any, outcome: str) -> Any:
    if value is None:
        raise FieldError(f"--{name}", None, f"a value for a {outcome} outcome")
    return value


@design_app.command("size")
def size_command(
    outcome: str = typer.Option("continuous", help="continuous, binary, survival or count."),
    delta: float = typer.Option(None, help="Continuous: difference to detect (score points)."),
    sd: float = typer.Option(None, help="Continuous: outcome SD."),
    rho: float = typer.Option(0.0, help="Continuous: baseline-outcome correlation for ANCOVA (0 = t test)."),
    p_control: float = typer.Option(None, help="Binary: proportion under usual care."),
    p_intervention: float = typer.Option(None, help="Binary: proportion with the intervention."),
    method: str = typer.Option(None, help="Binary: normal (power.prop.test) or arcsine; survival: schoenfeld "
                               "or freedman."),
    hr: float = typer.Option(None, help="Survival: hazard ratio."),
    prob_event_control: float = typer.Option(None, help="Survival: event probability, usual care."),
    prob_event_intervention: float = typer.Option(None, help="Survival: event probability, intervention."),
    control_hazard: float = typer.Option(None, help="Survival: yearly hazard under usual care (instead of "
                                         "event probabilities)."),
    accrual: float = typer.Option(1.5, help="Survival: recruitment period, years."),
    follow_up: float = typer.Option(1.0, help="Survival: follow-up after the last recruit, years."),
    competing_hazard: float = typer.Option(0.0, help="Survival: yearly hazard of the competing event."),
    rate_control: float = typer.Option(None, help="Count: mean count per participant under usual care."),
    rate_ratio: float = typer.Option(None, help="Count: rate ratio to detect."),
    exposure: float = typer.Option(1.0, help="Count: exposure (years) per participant."),
    dispersion: float = typer.Option(0.0, help="Count: negative-binomial dispersion (0 = Poisson)."),
    power: float = typer.Option(0.9, help="Target power."),
    alpha: float = typer.Option(0.05, help="Significance level (familywise when --n-outcomes > 1)."),
    sided: int = typer.Option(2, help="1 or 2 sided test."),
    ratio: float = typer.Option(1.0, help="Allocation ratio n_intervention / n_usual_care."),
    attrition: float = typer.Option(0.0, help="Expected loss to follow-up, e.g. 0.2."),
    icc: float = typer.Option(0.0, help="Intraclass correlation of therapist clusters (0 = none)."),
    cluster_size: float = typer.Option(1.0, help="Mean cluster (therapist group) size."),
    cluster_cv: float = typer.Option(0.0, help="Coefficient of variation of cluster sizes."),
    cluster_arms: str = typer.Option("intervention", help="intervention (partial nesting) or both."),
    n_outcomes: int = typer.Option(1, help="Primary outcomes (Bonferroni: each at alpha / k)."),
    label: str = typer.Option("the outcome", help="Outcome name for the protocol sentence."),
    unit: str = typer.Option("points", help="Continuous: unit of delta."),
    participants: str = typer.Option("children", help="Noun for the participants in the sentence."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Closed-form sample size, with a sentence fit for a protocol."""
    from securebase.analysis.design import (
        BinaryOutcome,
        Clustering,
        ContinuousOutcome,
        CountOutcome,
        SurvivalOutcome,
        sample_size,
    )
    from securebase.analysis.design.survival import survival_outcome

    spec: Any
    if outcome == "continuous":
        spec = ContinuousOutcome(_need("delta", delta, outcome), _need("sd", sd, outcome), rho, label, unit)
    elif outcome == "binary":
        spec = BinaryOutcome(_need("p-control", p_control, outcome), _need("p-intervention", p_intervention, outcome),
                             method or "normal", label)
    elif outcome == "survival":
        m = method or "schoenfeld"
        if control_hazard is not None:
            spec = survival_outcome(_need("hr", hr, outcome), control_hazard, accrual, follow_up,
                                    competing_hazard=competing_hazard, method=m, label=label)
        else:
            spec = SurvivalOutcome(_need("hr", hr, outcome), _need("prob-event-control", prob_event_control, outcome),
                                   _need("prob-event-intervention", prob_event_intervention, outcome), m, label)
    elif outcome == "count":
        spec = CountOutcome(_need("rate-control", rate_control, outcome), _need("rate-ratio", rate_ratio, outcome),
                            exposure, dispersion, label)
    else:
        raise FieldError("--outcome", outcome, "continuous, binary, survival or count")
    clustering = Clustering(icc, cluster_size, cluster_cv, cluster_arms) if icc > 0 else None
    res = sample_size(spec, power=power, alpha=alpha, ratio=ratio, sided=sided, attrition=attrition,
                      clustering=clustering, n_outcomes=n_outcomes, participants=participants)
    if as_json:
        console.print_json(json.dumps(res.to_dict(), default=str))
    else:
        console.print(res.summary(), highlight=False)


def _overrides(sets: list[str], params_file: Path | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if params_file is not None:
        try:
            loaded = yaml.safe_load(params_file.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise FieldError("--params", str(params_file), "a readable YAML or JSON file of parameters",
                             str(exc).splitlines()[0]) from None
        if not isinstance(loaded, dict):
            raise FieldError("--params", str(params_file), "a mapping of parameter names to values")
        out.update(loaded)
    for s in sets:
        name, sep, value = s.partition("=")
        if not sep:
            raise FieldError("--set", s, "NAME=VALUE", "e.g. --set retention_12=0.75")
        out[name.strip()] = yaml.safe_load(value)
    return out


def _params(protocol: str, n: int | None, effect_d: float | None, outcome: str, missing: str | None,
            sets: list[str], params_file: Path | None) -> Any:
    from securebase.analysis.design.simulate import make_parameters

    kw = _overrides(sets, params_file)
    kw["protocol"] = protocol
    if n is not None:
        kw["n_participants"] = n
    if missing is not None:
        kw["missing_mechanism"] = missing
    if effect_d is not None:
        base = make_parameters(**{k: v for k, v in kw.items() if k != "outcomes"})
        outs = {k: v.model_dump() for k, v in base.outcomes.items()}
        outs.update(kw.get("outcomes", {}))
        if outcome not in outs:
            raise FieldError("--outcome", outcome, f"one of {sorted(outs)}")
        outs[outcome] = {**outs[outcome], "effect_d": effect_d}
        kw["outcomes"] = outs
    params = make_parameters(**kw)
    return params


@design_app.command("simulate")
def simulate_command(
    protocol: str = typer.Option("ng26-care", help="ng26-care or ng26-maltreatment."),
    n: int = typer.Option(None, help="Participants (default 300)."),
    seed: int = typer.Option(..., help="Random seed (recorded; the same seed gives the same trial)."),
    out: Path = typer.Option(Path("simulated"), help="Directory for the frames."),
    fmt: str = typer.Option("csv", "--format", help="csv or parquet."),
    items: bool = typer.Option(False, help="Also write SDQ item responses (sdq_items)."),
    missing: str = typer.Option(None, help="Missing-data mechanism: none, MCAR, MAR or MNAR."),
    effect_d: float = typer.Option(None, help="Effect (SD units) of --outcome."),
    outcome: str = typer.Option("sdq_total", help="Outcome whose effect --effect-d sets."),
    set_: list[str] = typer.Option([], "--set", help="Override a parameter: NAME=VALUE (repeatable)."),
    params_file: Path = typer.Option(None, "--params", help="YAML/JSON file of parameter overrides."),
) -> None:
    """Simulate one trial and write participants, visits and resource_use (CSV or Parquet)."""
    from securebase.analysis.design.simulate import simulate

    params = _params(protocol, n, effect_d, outcome, missing, set_, params_file)
    trial = simulate(params, np.random.default_rng(seed), item_level=items, seed=seed)
    paths = trial.write(out, fmt)
    (Path(out) / "parameters.json").write_text(json.dumps(trial.to_dict(), indent=2, default=str))
    console.print(trial.summary(), highlight=False)
    for p in paths:
        console.print(f"  wrote {p}", highlight=False)


@design_app.command("power")
def power_command(
    protocol: str = typer.Option("ng26-care", help="ng26-care or ng26-maltreatment."),
    analysis: str = typer.Option("ancova", help="ancova, ttest, logistic or cox."),
    outcome: str = typer.Option("sdq_total", help="Analysed outcome (see docs/design.md)."),
    covariate: list[str] = typer.Option(["age"], help="Adjustment covariates (repeatable): age, female, site, "
                                        "category, <outcome>_0."),
    n: int = typer.Option(None, help="Participants randomised (default 300)."),
    effect_d: float = typer.Option(None, help="Effect of --outcome in SD units."),
    missing: str = typer.Option(None, help="none, MCAR, MAR or MNAR."),
    alpha: float = typer.Option(0.05, help="Two-sided significance level."),
    sims: int = typer.Option(1000, help="Simulated trials (also as many under the null)."),
    seed: int = typer.Option(20261126, help="Random seed; the result depends only on it and --batch-size."),
    batch_size: int = typer.Option(500, help="Simulated trials per batch."),
    workers: int = typer.Option(None, help="Local Dask worker processes (default: setting dask_workers; 1 = "
                                "no Dask)."),
    scheduler: str = typer.Option(None, help="Address of a running Dask scheduler, tcp://host:8786 (default: "
                                  "setting dask_scheduler)."),
    grid: str = typer.Option(None, help="Power curve grid, e.g. 'n_participants=200,300,400;effect_d=0.2,0.3'."),
    out: Path = typer.Option(None, help="Directory for the table (CSV) and plot (PNG) of a power curve."),
    set_: list[str] = typer.Option([], "--set", help="Override a simulator parameter: NAME=VALUE."),
    params_file: Path = typer.Option(None, "--params", help="YAML/JSON file of parameter overrides."),
    cache: bool = typer.Option(True, help="Reuse cached results (setting cache_dir)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Power by simulation (type I error, bias and coverage too); with --grid, a power curve."""
    from securebase.analysis.design.curves import parse_grid, power_curve
    from securebase.analysis.design.power import PowerScenario, simulate_power

    s = settings()
    params = _params(protocol, n, effect_d, outcome, missing, set_, params_file)
    scenario = PowerScenario(params=params, analysis=analysis, outcome=outcome, covariates=tuple(covariate),
                             alpha=alpha)
    run: dict[str, Any] = {"n_sims": sims, "seed": seed, "batch_size": batch_size,
           "workers": workers if workers is not None else s.dask_workers,
           "scheduler": scheduler if scheduler is not None else (s.dask_scheduler or None),
           "progress": s.progress and sys.stderr.isatty(), "cache_dir": s.cache_dir if cache else None}
    if grid:
        curve = power_curve(scenario, parse_grid(grid), **run)
        if as_json:
            console.print_json(json.dumps(curve.to_dict(), default=str))
        else:
            console.print(curve.summary(), highlight=False)
        target = out or s.output_dir / "design"
        target.mkdir(parents=True, exist_ok=True)
        frame_to_csv(curve.table, target / "power_curve.csv", index=False)
        png = curve.plot(target / "power_curve.png", title=f"{analysis} of {outcome} ({protocol})")
        console.print(f"wrote {target / 'power_curve.csv'} and {png}", highlight=False)
        return
    res = simulate_power(scenario, **run)
    if as_json:
        console.print_json(json.dumps(res.to_dict(), default=str))
    else:
        console.print(res.summary(), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(design_app, name="design")
