"""``securebase invite ...``: questionnaire links for carers, teachers and young people (run daily, e.g. by cron).

``send`` invites the current respondent to every open, unanswered, age-appropriate questionnaire without a live
link; ``remind`` sends a fresh link to those who have not answered, every 7 days while the window is open.
E-mail goes through SECUREBASE_SMTP_HOST (or the mail outbox), SMS to the SMS outbox gateway.
"""

from __future__ import annotations

import typer

from securebase.cli._common import console, settings, store
from securebase.notify import mailer_from_settings, sms_gateway_from_settings
from securebase.trial import invitations
from securebase.trial.audit_view import actor_for
from securebase.trial.invitations import Channels

invite_app = typer.Typer(help="Questionnaire links: invitations and reminders.", no_args_is_help=True)
DB = typer.Option(None, "--db", help="Store URL; default SECUREBASE_DATABASE_URL.")
AS = typer.Option(..., "--as", help="Your user name (a site recruiter, trial manager or data manager).")
TRIAL = typer.Option("ng26-care", "--trial", help="Trial ID.")
BASE = typer.Option(..., "--base-url", help="Public address of the respondent pages, e.g. https://trial.example.org")


def _run(db: str | None, user: str, trial: str, base_url: str, reminders: bool) -> None:
    cfg = settings()
    st = store(db)
    ch = Channels(mailer_from_settings(cfg), sms_gateway_from_settings(cfg), base_url, cfg.encryption_key)
    with st.read() as s:
        a = actor_for(s, user, trial)
    with st.unit_of_work(actor=user) as uow:
        res = (invitations.send_reminders if reminders else invitations.send_invitations)(uow, a, ch)
        uow.commit()
    console.print(", ".join(f"{v} {k.replace('_', ' ')}" for k, v in res.to_dict().items()))


@invite_app.command("send")
def send_cmd(user: str = AS, trial: str = TRIAL, base_url: str = BASE, db: str | None = DB) -> None:
    """Send the links of every questionnaire now due (none twice; none outside its age range)."""
    _run(db, user, trial, base_url, reminders=False)


@invite_app.command("remind")
def remind_cmd(user: str = AS, trial: str = TRIAL, base_url: str = BASE, db: str | None = DB) -> None:
    """Remind respondents who have not answered (a fresh link, every 7 days, at most twice, inside the window)."""
    _run(db, user, trial, base_url, reminders=True)


def register(app: typer.Typer) -> None:
    app.add_typer(invite_app, name="invite")
