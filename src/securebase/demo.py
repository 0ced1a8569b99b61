"""The main job: a whole synthetic NG26 care trial through the real services, then the report.

Steps (each with a progress bar): create a fresh SQLite store and the trial ``ng26-care``; screen,
consent, enrol and randomise (minimisation) every child; enter visits item by item, events,
intervention sessions and resource use; extract the analysis datasets; run the statistical and
health-economics plans; write ``report.html`` and ``report.pdf`` (closed, for the DMC) and
``open-report.html`` (pooled). Synthetic data only.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from securebase.cells import frame_to_csv
from securebase.demo_security import demo_secret
from securebase.protocol import load_protocol
from securebase.report.from_store import report_from_store
from securebase.store import open_store, verify_chain
from securebase.trial.setup import create_trial


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False, disable=not console.is_terminal and False)


def run_demo(out: Path, n: int, seed: int, console: Console, *, pdf: bool = True, n_boot: int = 1000) -> dict[str, Path]:
    from securebase.demo_world import (
        DEMO_PASSWORD,
        DemoTrial,
        add_qualitative,
        install_demo_tariff,
        make_users,
    )

    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    db = out / "demo.db"
    for suffix in ("", "-wal", "-shm", ".audit-heads"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    from securebase.store.audit_key import AuditSeal, generate_key_file, load_key

    generate_key_file(key := Path(str(db) + ".audit-key"))  # keyed audit chain, as `securebase init` makes
    store = open_store(f"sqlite:///{db}", seal=AuditSeal(load_key(key), Path(str(db) + ".audit-heads")))
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
    add_qualitative(world, users.qual)
    from securebase.demo_safety import run_safety

    safety = run_safety(store, proto, out, seed=seed, password=DEMO_PASSWORD)
    console.print("Safety: " + ", ".join(f"{v} {k}" for k, v in safety["counts"].items())
                  + f"; {safety['emails']} alert e-mail(s) in {safety['outbox']}")
    console.print("Recorded: " + ", ".join(f"{v} {k}" for k, v in sorted(world.counts.items())))
    from securebase.demo_linkage import (
        run_linkage_demo,  # SSDA903 / CIN / school extracts, validated and linked
    )

    run_linkage_demo(store, proto.id, out, seed=seed, console=console)
    with store.read() as session:
        console.print(verify_chain(session).summary())
    from securebase.analysis.datasets import extract

    data = extract(store, proto.id, "stats")
    (out / "data").mkdir(exist_ok=True)
    for name, frame in (("participants", data.participants), ("visits", data.visits),
                        ("resource_use", data.resource_use)):
        frame_to_csv(frame, out / "data" / f"{name}.csv", index=False)
    console.print("Analysis datasets: " + data.summary())
    files = report_from_store(store, proto.id, "dmc", "closed", out, console=console, pdf=pdf, n_boot=n_boot,
                              seed=seed, name="report")
    opened = report_from_store(store, proto.id, "tm", "open", out, console=console, pdf=False, seed=seed,
                               name="open-report")
    files["open_html"] = opened["html"]
    from securebase.demo_people import run_people_demo  # questionnaires by link and a placement move

    run_people_demo(store, proto.id, out, seed=seed, console=console)
    from securebase.demo_econ import model_summary

    model_summary(out, console)  # the decision model ran with the closed report (issue 22)
    console.print(f"Done in {time.perf_counter() - t0:.0f} s. Open [bold]{files['html']}[/]"
                  + (f" or {files['pdf']}" if "pdf" in files else "")
                  + f"; the pooled open report is {files['open_html']}. "
                  f"`SECUREBASE_DATABASE_URL=sqlite:///{db} SECUREBASE_SECRET_FILE={demo_secret(out)} "
                  "SECUREBASE_TOTP_REQUIRED=false securebase serve` shows the trial in the web app "
                  f"(users admin, tm, rec_la01, assessor, dm, dmc, stats...; password '{DEMO_PASSWORD}').")
    store.dispose()
    return files


__all__ = ["run_demo"]
