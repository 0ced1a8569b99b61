"""``securebase randomise``, ``securebase randomisation ...`` and ``securebase unblind ...`` commands."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import typer
from rich.table import Table
from sqlalchemy import select

from securebase.cells import SafeDictWriter
from securebase.cli._common import console, store
from securebase.errors import FieldError, InputError, NotFound
from securebase.protocol import load_protocol
from securebase.randomisation import scheme_for
from securebase.randomisation.properties import PropertiesResult, simulate_properties
from securebase.store.tables import Participant, Trial
from securebase.trial.audit_view import actor_for

DB_OPTION = typer.Option(None, "--db", help="Store URL; default SECUREBASE_DATABASE_URL.")
AS_OPTION = typer.Option(..., "--as", help="Your user name (your roles decide what you may do and see).")
TRIAL_OPTION = typer.Option(None, "--trial", help="Trial id; may be left out when the store holds one trial.")

randomisation_app = typer.Typer(help="Allocation lists and the properties report of a randomisation scheme.",
                                no_args_is_help=True)
unblind_app = typer.Typer(help="Emergency unblinding: request, decide, reveal, report.", no_args_is_help=True)


def _trial_id(session, trial: str | None) -> str:  # type: ignore[no-untyped-def]
    if trial:
        return trial
    ids = session.execute(select(Trial.id)).scalars().all()
    if len(ids) != 1:
        raise FieldError("--trial", None, f"one of {', '.join(ids) or '(no trial yet)'}", "name the trial with --trial")
    return ids[0]


def _participant_trial(session, participant: str) -> str:  # type: ignore[no-untyped-def]
    found = session.execute(select(Participant.trial_id).where(Participant.participant_id == participant)).first()
    if found is None:
        raise NotFound(f"participant '{participant}' is not in this store; check the trial ID (for example CARE-0014)")
    return found[0]


def randomise_command(participant: str = typer.Argument(..., help="Participant trial ID, e.g. CARE-0014."),
                      as_user: str = AS_OPTION,
                      on: str | None = typer.Option(None, help="Randomisation date YYYY-MM-DD (default today, UTC)."),
                      db: str | None = DB_OPTION) -> None:
    """Randomise an eligible, consented participant (or show their allocation if already randomised)."""
    from securebase.trial.randomise import randomise

    try:
        day = date.fromisoformat(on) if on else None
    except ValueError:
        raise FieldError("--on", on, "a date as YYYY-MM-DD") from None
    st = store(db)
    with st.unit_of_work(actor=as_user) as uow:
        actor = actor_for(uow.session, as_user, _participant_trial(uow.session, participant))
        view = randomise(uow, actor, participant, on=day)
        uow.commit()
    console.print(view.summary())


@randomisation_app.command("show")
def show(participant: str = typer.Argument(..., help="Participant trial ID."), as_user: str = AS_OPTION,
         db: str | None = DB_OPTION) -> None:
    """Show a participant's allocation (refused to blinded roles)."""
    from securebase.trial.randomise import allocation_for

    st = store(db)
    with st.unit_of_work(actor=as_user, write=False) as uow:
        actor = actor_for(uow.session, as_user, _participant_trial(uow.session, participant))
        console.print(allocation_for(uow, actor, participant).summary())


@randomisation_app.command("prepare-lists")
def prepare(as_user: str = AS_OPTION, trial: str | None = TRIAL_OPTION,
            blocks: int | None = typer.Option(None, min=1, help="Blocks per stratum (default: enough for the "
                                              "target sample size spread over the strata, times 1.5)."),
            db: str | None = DB_OPTION) -> None:
    """Before go-live: generate the sealed permuted-block list of every stratum from the trial's seed."""
    from securebase.trial.randomise import prepare_lists

    st = store(db)
    with st.unit_of_work(actor=as_user) as uow:
        actor = actor_for(uow.session, as_user, _trial_id(uow.session, trial))
        status = prepare_lists(uow, actor, blocks_per_stratum=blocks)
        uow.commit()
    console.print(f"{len(status)} strata, {sum(s.entries for s in status)} sealed list entries")


@randomisation_app.command("lists")
def lists(as_user: str = AS_OPTION, trial: str | None = TRIAL_OPTION, db: str | None = DB_OPTION) -> None:
    """Entries, used entries and versions of each stratum's sealed list (never the arms)."""
    from securebase.trial.randomise import list_status

    st = store(db)
    with st.unit_of_work(actor=as_user, write=False) as uow:
        actor = actor_for(uow.session, as_user, _trial_id(uow.session, trial))
        status = list_status(uow, actor)
    table = Table(title="Sealed randomisation lists")
    for h in ("stratum", "entries", "used", "left", "versions"):
        table.add_column(h)
    for s in status:
        table.add_row(s.stratum, str(s.entries), str(s.used), str(s.entries - s.used), str(s.versions))
    console.print(table)


@randomisation_app.command("simulate")
def simulate(protocol: str = typer.Option("ng26-care", help="Built-in protocol name or YAML file."),
             method: str | None = typer.Option(None, help="minimisation, permuted_blocks or simple (default: the protocol's)."),
             p: float | None = typer.Option(None, "--p", help="Minimisation: base probability of the preferred arm."),
             imbalance: str | None = typer.Option(None, help="Minimisation: range, variance or marginal."),
             initial_random: int | None = typer.Option(None, help="Minimisation: purely random allocations first."),
             block_sizes: str | None = typer.Option(None, help="Permuted blocks: sizes, e.g. 4,6 (multiples of the ratio sum)."),
             ratio: str | None = typer.Option(None, help="Allocation ratio overriding the protocol's, e.g. 2:1."),
             n: int | None = typer.Option(None, min=1, help="Participants per simulated trial (default: the target sample size)."),
             sims: int = typer.Option(1000, min=2, help="Simulated recruitment sequences."),
             seed: int = typer.Option(1, help="Seed of the simulation (stored in the report)."),
             out: Path = typer.Option(Path("randomisation-properties"), help="Directory for the table, JSON and plots.")) -> None:
    """Imbalance and predictability of a scheme over many simulated recruitment sequences, with plots."""
    proto = load_protocol(protocol)

    def ints(text: str | None, sep: str, name: str) -> list[int] | None:
        if text is None:
            return None
        try:
            return [int(x) for x in text.split(sep)]
        except ValueError:
            raise FieldError(name, text, f"integers separated by '{sep}'") from None

    try:
        scheme = scheme_for(proto, method=method, p=p, imbalance=imbalance, initial_random=initial_random,
                            block_sizes=ints(block_sizes, ",", "--block-sizes"), ratios=ints(ratio, ":", "--ratio"))
    except ValueError as err:
        raise InputError(f"invalid randomisation options: {err}; change the option and run again") from None
    result = simulate_properties(scheme, n or proto.target_sample_size, sims, np.random.default_rng(seed), seed=seed)
    files = write_report(result, out)
    console.print(result.summary())
    console.print("Wrote " + ", ".join(str(f) for f in files))


def write_report(result: PropertiesResult, out: Path) -> list[Path]:
    """``properties.csv`` (the table), ``properties.json`` and four PNG plots in ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    rows = result.table()
    fields = ["quantity", "group", "mean", "sd", "median", "p95", "max", "target"]
    with (out / "properties.csv").open("w", newline="", encoding="utf-8") as fh:
        w = SafeDictWriter(fh, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows(rows)
    (out / "properties.json").write_text(json.dumps(result.to_dict(), indent=1, default=float), encoding="utf-8")
    title = f"{result.method} ({', '.join(f'{k}={v}' for k, v in result.options.items())}), {result.sims} sims"
    files = [out / "properties.csv", out / "properties.json"]
    t = np.arange(1, result.n + 1)

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(result.overall, bins=np.arange(0, result.overall.max() + 2) - 0.25, width=0.5)
    ax.set(xlabel="final overall imbalance (max - min of n_k / r_k)", ylabel="simulated trials", title=title)
    ax.title.set_fontsize(8)
    files.append(out / "imbalance_overall.png")
    fig.tight_layout()
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(max(7, 0.45 * len(result.by_level)), 4.5))
    ax.boxplot(list(result.by_level.values()), showfliers=False)
    ax.set_xticks(range(1, len(result.by_level) + 1), [f"{f}={lv}" for f, lv in result.by_level], rotation=60, ha="right",
                  fontsize=7)
    ax.set(ylabel="final imbalance within the level", title=title)
    ax.title.set_fontsize(8)
    files.append(out / "imbalance_levels.png")
    fig.tight_layout()
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, g in result.guess.items():
        ax.plot(t, g, label=name, lw=1)
    ax.set(xlabel="allocation number", ylabel="probability of a correct guess", title=title, ylim=(0.3, 1.02))
    ax.title.set_fontsize(8)
    ax.legend(fontsize=8)
    files.append(out / "predictability.png")
    fig.tight_layout()
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(t, result.trajectory_mean, label="mean")
    a1.plot(t, result.trajectory_p95, label="95th percentile")
    a1.set(xlabel="participants allocated", ylabel="overall imbalance", title="Imbalance over recruitment")
    a1.legend(fontsize=8)
    total = sum(result.ratios)
    for kk, arm in enumerate(result.arms):
        a2.plot(t, result.share_trajectory[:, kk], label=arm)
        a2.axhline(result.ratios[kk] / total, ls=":", c="grey")
    a2.set(xlabel="participants allocated", ylabel="mean share", title="Allocation ratio over recruitment (drift)")
    a2.legend(fontsize=8)
    files.append(out / "drift.png")
    fig.tight_layout()
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)
    return files


# -- emergency unblinding ------------------------------------------------------------------------------
@unblind_app.command("request")
def unblind_request(participant: str = typer.Argument(..., help="Participant trial ID."), as_user: str = AS_OPTION,
                    reason: str = typer.Option(..., help="Why the allocation is needed for the child's care."),
                    db: str | None = DB_OPTION) -> None:
    """Ask for one participant's allocation to be revealed to you (a trial manager decides)."""
    from securebase.trial.unblind import request_unblinding

    st = store(db)
    with st.unit_of_work(actor=as_user) as uow:
        actor = actor_for(uow.session, as_user, _participant_trial(uow.session, participant))
        view = request_unblinding(uow, actor, participant, reason)
        uow.commit()
    console.print(view.summary())


def _decide(request_id: int, as_user: str, trial: str | None, note: str | None, db: str | None, approve: bool) -> None:
    from securebase.trial.unblind import decide_unblinding

    st = store(db)
    with st.unit_of_work(actor=as_user) as uow:
        actor = actor_for(uow.session, as_user, _trial_id(uow.session, trial))
        view = decide_unblinding(uow, actor, request_id, approve=approve, note=note)
        uow.commit()
    console.print(view.summary())


@unblind_app.command("approve")
def unblind_approve(request_id: int = typer.Argument(..., help="Request number."), as_user: str = AS_OPTION,
                    trial: str | None = TRIAL_OPTION, note: str | None = typer.Option(None, help="A note for the record."),
                    db: str | None = DB_OPTION) -> None:
    """Approve a pending request (trial manager or administrator; not your own)."""
    _decide(request_id, as_user, trial, note, db, True)


@unblind_app.command("refuse")
def unblind_refuse(request_id: int = typer.Argument(..., help="Request number."), as_user: str = AS_OPTION,
                   trial: str | None = TRIAL_OPTION, note: str | None = typer.Option(None, help="A note for the record."),
                   db: str | None = DB_OPTION) -> None:
    """Refuse a pending request."""
    _decide(request_id, as_user, trial, note, db, False)


@unblind_app.command("reveal")
def unblind_reveal(request_id: int = typer.Argument(..., help="Request number."), as_user: str = AS_OPTION,
                   trial: str | None = TRIAL_OPTION, db: str | None = DB_OPTION) -> None:
    """Show the allocation of an approved request (to the requester only)."""
    from securebase.trial.unblind import reveal_allocation

    st = store(db)
    with st.unit_of_work(actor=as_user) as uow:
        actor = actor_for(uow.session, as_user, _trial_id(uow.session, trial))
        view = reveal_allocation(uow, actor, request_id)
        uow.commit()
    console.print(view.summary())


@unblind_app.command("report")
def unblind_report(as_user: str = AS_OPTION, trial: str | None = TRIAL_OPTION, db: str | None = DB_OPTION) -> None:
    """Every unblinding request of the trial: who, when, why, decision, reveal."""
    from securebase.trial.unblind import unblinding_report

    st = store(db)
    with st.unit_of_work(actor=as_user, write=False) as uow:
        actor = actor_for(uow.session, as_user, _trial_id(uow.session, trial))
        rows = unblinding_report(uow, actor)
    table = Table(title="Emergency unblinding requests")
    for h in ("id", "participant", "requested by", "requested (UTC)", "reason", "status", "decided by", "revealed (UTC)"):
        table.add_column(h, overflow="fold")
    for r in rows:
        table.add_row(str(r.request_id), r.participant_id, r.requested_by, f"{r.requested_at:%Y-%m-%d %H:%M}", r.reason,
                      r.status, r.decided_by or "", f"{r.revealed_at:%Y-%m-%d %H:%M}" if r.revealed_at else "")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("randomise")(randomise_command)
    app.add_typer(randomisation_app, name="randomisation")
    app.add_typer(unblind_app, name="unblind")
