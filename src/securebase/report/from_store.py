"""Produce a trial's report straight from the store, as a named user (blinding enforced)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from securebase.cells import frame_to_csv
from securebase.errors import BlindingError
from securebase.protocol import Protocol
from securebase.report.builder import ReportData, ReportKind, build_report
from securebase.report.harms import harms_from_store
from securebase.store import Store


def delivery_log(store: Store, trial_id: str, as_of: date | None = None) -> pd.DataFrame:
    """The intervention delivery log (unblinded use only): one row per session offered (by ``as_of``)."""
    from sqlalchemy import select

    from securebase.store.tables import InterventionSession, Participant

    with store.read() as s:
        rows = s.execute(select(Participant.participant_id, InterventionSession.session_number,
                                InterventionSession.attended, InterventionSession.therapist,
                                InterventionSession.duration_minutes)
                         .join(Participant, Participant.id == InterventionSession.participant_pk)
                         .where(InterventionSession.trial_id == trial_id,
                                *([InterventionSession.offered_on <= as_of] if as_of else []))).all()
    return pd.DataFrame(rows, columns=["participant_id", "session_number", "attended", "therapist", "minutes"])


def qualitative_themes(store: Store, trial_id: str) -> list[dict[str, Any]]:
    """Codes with their number of coded segments and participants (pooled: no arm)."""
    from sqlalchemy import func, select

    from securebase.store.tables import Code, CodedSegment, Transcript

    with store.read() as session:
        rows = session.execute(select(Code.name, func.count(CodedSegment.id),
                                      func.count(func.distinct(Transcript.participant_pk)))
                               .join(CodedSegment, CodedSegment.code_id == Code.id)
                               .join(Transcript, Transcript.id == CodedSegment.transcript_id)
                               .where(Code.trial_id == trial_id).group_by(Code.name).order_by(Code.name)).all()
    return [{"name": r[0], "segments": int(r[1]), "participants": int(r[2])} for r in rows]


def run_economics(proto: Protocol, part: pd.DataFrame, resource_use: pd.DataFrame, store: Store, out: Path,
                  console: Console, *, seed: int, n_boot: int, as_of: date | None = None) -> tuple[Any, Any]:
    from securebase.analysis.economics.analysis import CostEffectivenessAnalysis, write_outputs
    from securebase.analysis.economics.plan import load_plan

    plan = load_plan(proto.analysis_plans.health_economics or proto.id)
    console.print(f"Cost-effectiveness plan for {plan.trial}: {n_boot} bootstrap replicates per imputed set")
    cea = CostEffectivenessAnalysis(plan, n_boot=n_boot, seed=seed).fit(part, resource_use, delivery_log(store, proto.id, as_of))
    write_outputs(cea, out / "economics")
    (out / "economics" / "summary.txt").write_text(cea.summary(), encoding="utf-8")
    return cea, plan


def reproduce_commands(data_dir: Path, proto: Protocol, *, seed: int, n_boot: int) -> list[str]:
    """The documented commands that rebuild the closed report's headline numbers from its exports."""
    d = data_dir
    sap = proto.analysis_plans.statistical or proto.id
    he = proto.analysis_plans.health_economics or proto.id
    return [f"securebase analyse --plan {sap} --data {d / 'participants.csv'} --visits {d / 'visits.csv'} "
            f"--out rebuilt/analysis",
            f"securebase economics --plan {he} --data {d / 'participants.csv'} --resource-use "
            f"{d / 'resource_use.csv'} --delivery-log {d / 'delivery_log.csv'} --n-boot {n_boot} --seed {seed} "
            f"--out rebuilt/economics"]


def export_inputs(data_dir: Path, part: pd.DataFrame, visits: pd.DataFrame, resource_use: pd.DataFrame,
                  log: pd.DataFrame, proto: Protocol, *, seed: int, n_boot: int, as_of: date) -> list[Path]:
    """Write every input of the closed report's analyses (unblinded: the closed report's folder only) and
    REPRODUCE.md with the commands that rebuild its clinical and economic numbers from them."""
    data_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in (("participants", part), ("visits", visits), ("resource_use", resource_use),
                        ("delivery_log", log)):
        frame_to_csv(frame, data_dir / f"{name}.csv", index=False)
        paths.append(data_dir / f"{name}.csv")
    cmds = reproduce_commands(Path("data"), proto, seed=seed, n_boot=n_boot)
    (data_dir / "REPRODUCE.md").write_text(
        f"# Rebuilding the closed report of {proto.id} (data as of {as_of.isoformat()})\n\n"
        "These files are the exact inputs of the report's analyses (unblinded: keep them with the closed "
        "report). From the folder above `data/`:\n\n```\n" + "\n".join(cmds) + "\n```\n\n"
        "`rebuilt/analysis/results.json` then holds every effect of the outcomes table and "
        "`rebuilt/economics/economics.json` the incremental costs and QALYs of the cost-effectiveness table.\n",
        encoding="utf-8")
    return paths


def run_model_for_report(part: pd.DataFrame, cea: Any, out: Path, seed: int, console: Console) -> Any:
    """The decision model linked to the trial (analysis/economics/model), or None with a note when it cannot run."""
    from securebase.analysis.economics.model.trial_link import run_trial_model
    from securebase.errors import InputError

    try:
        cc = cea.cost_consequence.set_index("item").loc["cost_intervention"]
        n1 = max(int((part["treat"] == 1).sum()), 1)
        ic = (float(cc["intervention_mean"]), float(cc["intervention_sd"]) / n1 ** 0.5)
        pop = "maltreatment" if "maltreatment" in str(cea.trial) else "care"
        a = run_trial_model(part, out / "economics_model", seed=seed, intervention_cost=ic, population=pop)
    except (InputError, KeyError) as err:
        console.print(f"[yellow]decision model not run:[/yellow] {err}")
        return None
    console.print(f"Decision model: {a.n_samples:,} PSA samples, P(cost-effective at £20,000) "
                  f"{a.at(20_000)['prob_cost_effective']:.2f}; outputs in {out / 'economics_model'}")
    return a


def report_from_store(store: Store, trial_id: str, username: str, kind: ReportKind | str, out: Path, *,
                      console: Console | None = None, pdf: bool = True, n_boot: int = 1000, seed: int = 1,
                      name: str = "report", as_of: date | None = None) -> dict[str, Path]:
    """Extract the datasets as ``username`` at the data cut ``as_of`` (default today), run the plans
    (closed report only) and write the report."""
    from securebase.analysis.datasets import extract
    from securebase.protocol.loader import protocol_from_yaml_text
    from securebase.report.consort import consort_counts
    from securebase.report.effects import effects_from_plan
    from securebase.store.tables import Trial
    from securebase.trial.audit_view import actor_for

    console = console or Console(quiet=True)
    kind = ReportKind(kind)
    as_of = as_of or date.today()
    with store.read() as session:
        trial = session.get(Trial, trial_id)
        if trial is None:
            from securebase.errors import NotFound

            raise NotFound(f"trial '{trial_id}' is not in this store; check the trial id")
        actor = actor_for(session, username, trial_id)
        proto = protocol_from_yaml_text(trial.protocol_yaml, f"trial {trial_id} protocol")
        consort = consort_counts(session, trial_id, as_of=as_of)
    if kind == ReportKind.closed and not actor.can_see_allocation():
        raise BlindingError("the closed (by-arm) report is for unblinded roles (the data monitoring committee, "
                            "unblinded statistician); produce the open report instead: --kind open")
    data = extract(store, trial_id, username, as_of=as_of)
    part, visits = data.participants, data.visits
    out.mkdir(parents=True, exist_ok=True)
    effects: list[dict[str, Any]] = []
    subgroups: list[dict[str, Any]] = []
    plans: dict[str, str] = {}
    cea = he_plan = econ_model = None
    if kind == ReportKind.closed:
        export_inputs(out / "data", part, visits, data.resource_use, delivery_log(store, proto.id, as_of), proto,
                      seed=seed, n_boot=n_boot, as_of=as_of)
        effects, subgroups, plans = effects_from_plan(proto, part, visits, out, console)
        cea, he_plan = run_economics(proto, part, data.resource_use, store, out, console, seed=seed, n_boot=n_boot,
                                   as_of=as_of)
        plans["health economics"] = f"{he_plan.trial} ({he_plan.price_year} prices)"
        econ_model = run_model_for_report(part, cea, out, seed, console)
    rd = ReportData(proto, part, visits, consort, effects=effects, subgroups=subgroups, economics=cea,
                    economics_plan=he_plan, themes=qualitative_themes(store, trial_id),
                    seeds={"bootstrap and imputation": seed,
                           "randomisation": "stored with the trial, concealed (not printed in reports)"}, plans=plans,
                    economics_dir=out / "economics" if cea is not None else None, as_of=as_of,
                    reproduce=tuple(reproduce_commands(Path("data"), proto, seed=seed, n_boot=n_boot))
                    if kind == ReportKind.closed else ())
    rd.harms = harms_from_store(store, proto, actor, closed=kind == ReportKind.closed)
    if rd.harms:
        rd.sections = (*rd.sections, "harms")  # the reviewer's checklist marks the CONSORT harms items met
    rd.economics_model = econ_model
    files = build_report(rd, kind, actor, out, pdf=pdf, name=name)
    with store.unit_of_work(actor=username) as uow:
        uow.log_event("report_produced", table_name="report", record_id=trial_id, trial_id=trial_id,
                      detail={"kind": kind.value, "files": [p.name for p in files.values()],
                              "as_of": as_of.isoformat()})
        uow.commit()
    return files
