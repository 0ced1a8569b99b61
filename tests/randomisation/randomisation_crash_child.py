"""Child process of the crash test: randomise the given participants in order, one transaction each.

Usage: python randomisation_crash_child.py URL TRIAL_ID PID [PID ...]. Prints "ready" once the store
is open, "ok" after each committed randomisation and "done" at the end; the parent kills it with SIGKILL
at a random moment in between (it counts the "ok" lines, so the kill lands mid-run however fast the machine).
"""

from __future__ import annotations

import sys

from securebase.store import open_store
from securebase.trial.randomise import randomise
from securebase.trial.roles import Actor, Role


def main(url: str, trial_id: str, pids: list[str]) -> None:
    store = open_store(url, migrate=False)
    actor = Actor("admin", trial_id, frozenset({Role.administrator}), None)
    print("ready", flush=True)
    for pid in pids:
        with store.unit_of_work(actor="admin") as uow:
            randomise(uow, actor, pid)
            uow.commit()
        print("ok", flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
