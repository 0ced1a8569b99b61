"""Fixtures of the qualitative tests: the care trial with synthetic participants, users and transcripts."""

from __future__ import annotations

import pytest
from qual_synth import KEY, TEXTS, actor, populate, read

from securebase.qualitative import create_codebook, import_transcript
from securebase.qualitative.codebook import add_code


@pytest.fixture
def qual_trial(care_trial):  # type: ignore[no-untyped-def]
    """The care trial with participants, users, three imported transcripts and codebook v1 (4 codes)."""
    store = care_trial
    populate(store)
    qa = actor(store, "qual1")
    ids: dict[str, int] = {}
    with store.unit_of_work(actor="qual1") as uow:
        for pid in TEXTS:
            ids[pid] = import_transcript(uow, qa, read(pid), speaker_role="carer", participant_id=pid,
                                         visit_id="m6", encryption_key=KEY).transcript.id
        cb = create_codebook(uow, qa, "Carer experience")
        change = add_code(uow, qa, cb.id, "Change in the child", definition="Carer describes change in behaviour",
                          inclusion="Behaviour at home or school", exclusion="Change in the carer", colour="#1f77b4")
        add_code(uow, qa, cb.id, "Emotional openness", parent=change.id, definition="Child shares feelings")
        support = add_code(uow, qa, cb.id, "Support", definition="Feeling supported or judged")
        add_code(uow, qa, cb.id, "Video feedback", parent=support.id, definition="Mentions video feedback")
        uow.commit()
        cb_id = cb.id
    return store, ids, cb_id
