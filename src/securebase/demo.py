"""The main job: a whole synthetic NG26 care trial through the real services, then the report.

Steps (each with a progress bar): create a fresh SQLite store and the trial ``ng26-care``; screen,
consent, enrol and randomise (minimisation) every child; enter visits item by item, events,
intervention sessions and resource use; extract the analysis datasets; run the statistical and
health-economics plans; write ``report.html`` and ``report.pdf`` (closed, for the DMC) and
``open-report.html`` (pooled). Synthetic data only.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from securebase.protocol import load_protocol
from securebase.store import open_store, verify_chain
from securebase.trial.setup import create_trial


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False, disable=not console.is_terminal and False)


def run_demo(out: Path, n: int, seed: int, console: Console, *, pdf: bool = True, n_boot: int = 1000) -> dict[str, Path]:
    from securebase.demo_world import DemoTrial, install_demo_tariff, make_users

    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    db = out / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    store = open_store(f"sqlite:///{db}")
    proto = load_protocol("ng26-care")
    with store.unit_of_work(actor="securebase-demo") as uow:
        create_trial(uow, proto, seed=seed)
        uow.commit()
    users = make_users(store, proto.id, proto)
    install_demo_tariff()
    world = DemoTrial(store, proto, users, n, seed)
    console.print(f"[bold]securebase demo[/]: trial [bold]{proto.id}[/] in {db} "
                  f"({n} children to randomise, seed {seed}; synthetic data)")
    order = world.base.sort_values("randomised_on").index.tolist()
    n_other = int(round(n * 0.6))
    with _progress(console) as bar:
        task = bar.add_task("Screening children who do not join", total=n_other)
        for _ in range(n_other):
            world.screen_others(1)
            bar.advance(task)
        task = bar.add_task("Consent, enrolment, minimisation", total=len(order))
        allocated: dict[int, tuple[str, str]] = {}
        for i in order:
            allocated[i] = world.recruit(i)
            bar.advance(task)
        task = bar.add_task("Visits, events, sessions, costs", total=len(order))
        for i in order:
            pid, arm = allocated[i]
            world.follow(i, pid, arm)
            world.resource_use(i, pid, arm)
            bar.advance(task)
    console.print("Recorded: " + ", ".join(f"{v} {k}" for k, v in sorted(world.counts.items())))
    with store.read() as session:
        console.print(verify_chain(session).summary())
    files = analyse_and_report(store, proto, out, console, seed=seed, pdf=pdf, n_boot=n_boot)
    console.print(f"Done in {time.perf_counter() - t0:.0f} s. Open [bold]{files['html']}[/]"
                  + (f" or {files['pdf']}" if "pdf" in files else "")
                  + f"; the pooled open report is {files['open_html']}. "
                  f"`SECUREBASE_DATABASE_URL=sqlite:///{db} securebase serve` shows the trial in the web app.")
    store.dispose()
    return files


def analyse_and_report(store, proto, out: Path, console: Console, *, seed: int, pdf: bool,  # type: ignore[no-untyped-def]
                       n_boot: int) -> dict[str, Path]:
    from securebase.analysis.datasets import extract
    from securebase.report.builder import ReportData, build_report
    from securebase.report.consort import consort_counts
    from securebase.trial.roles import Actor, Role

    data = extract(store, proto.id, "stats")
    part, visits = data.participants, data.visits
    (out / "data").mkdir(exist_ok=True)
    part.to_csv(out / "data" / "participants.csv", index=False)
    visits.to_csv(out / "data" / "visits.csv", index=False)
    data.resource_use.to_csv(out / "data" / "resource_use.csv", index=False)
    console.print(data.summary())
    effects, subgroups, plans = run_statistical_plan(proto, part, visits, out, console)
    cea, he_plan = run_economics_plan(proto, part, data.resource_use, store, out, console, seed=seed, n_boot=n_boot)
    with store.read() as session:
        consort = consort_counts(session, proto.id)
        themes = qualitative_themes(session, proto.id)
    plans.update({"health economics": f"{he_plan.trial} ({he_plan.price_year} prices)"})
    rd = ReportData(proto, part, visits, consort, effects=effects, subgroups=subgroups, economics=cea,
                    economics_plan=he_plan, themes=themes, seeds={"simulation": seed, "bootstrap": seed},
                    plans=plans)
    dmc = Actor("dmc", proto.id, frozenset({Role.dmc_member}))
    closed = build_report(rd, "closed", dmc, out, pdf=pdf, name="report")
    opened = build_report(rd, "open", Actor("tm", proto.id, frozenset({Role.trial_manager})), out, pdf=False,
                          name="open-report")
    files = dict(closed)
    files["open_html"] = opened["html"]
    return files


def run_statistical_plan(proto, part: pd.DataFrame, visits: pd.DataFrame, out: Path,  # type: ignore[no-untyped-def]
                         console: Console) -> tuple[list[dict], list[dict], dict[str, str]]:
    from securebase.report.effects import effects_from_plan

    return effects_from_plan(proto, part, visits, out, console)


def run_economics_plan(proto, part: pd.DataFrame, resource_use: pd.DataFrame, store, out: Path,  # type: ignore[no-untyped-def]
                       console: Console, *, seed: int, n_boot: int):
    from securebase.analysis.economics.analysis import CostEffectivenessAnalysis, write_outputs
    from securebase.analysis.economics.plan import load_plan

    plan = load_plan(proto.analysis_plans.health_economics or proto.id)
    delivery = delivery_log(store, proto.id)
    console.print(f"Cost-effectiveness plan for {plan.trial}: {n_boot} bootstrap replicates per imputed set")
    cea = CostEffectivenessAnalysis(plan, n_boot=n_boot, seed=seed).fit(part, resource_use, delivery)
    write_outputs(cea, out / "economics")
    (out / "economics" / "summary.txt").write_text(cea.summary(), encoding="utf-8")
    return cea, plan


def delivery_log(store, trial_id: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from securebase.store.tables import InterventionSession, Participant

    with store.read() as s:
        rows = s.execute(select(Participant.participant_id, InterventionSession.session_number,
                                InterventionSession.attended, InterventionSession.therapist,
                                InterventionSession.duration_minutes)
                         .join(Participant, Participant.id == InterventionSession.participant_pk)
                         .where(InterventionSession.trial_id == trial_id)).all()
    return pd.DataFrame(rows, columns=["participant_id", "session_number", "attended", "therapist", "minutes"])


def qualitative_themes(session, trial_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from securebase.store.tables import Code, CodedSegment, Transcript

    rows = session.execute(select(Code.name, func.count(CodedSegment.id),
                                  func.count(func.distinct(Transcript.participant_pk)))
                           .join(CodedSegment, CodedSegment.code_id == Code.id)
                           .join(Transcript, Transcript.id == CodedSegment.transcript_id)
                           .where(Code.trial_id == trial_id).group_by(Code.name).order_by(Code.name)).all()
    return [{"name": r[0], "segments": int(r[1]), "participants": int(r[2])} for r in rows]


__all__ = ["run_demo", "json"]
