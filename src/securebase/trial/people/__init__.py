"""People around a child: carers, households, teachers, social workers and young people; their versioned,
encrypted contact details; who is whose carer or teacher when; and the tasks those changes open.

- :mod:`.contacts`: add a person, record a new version of their contact details, read the current version.
- :mod:`.links`: carer links driven by placement events, the teacher per school year, the young person as
  their own respondent, and who answers a questionnaire for a child on a date.
- :mod:`.tasks`: consent of a new carer after a placement move, re-consent when a young person turns 16 and 18.
"""

from securebase.trial.people.contacts import add_person, contact_history, current_contact, update_contact
from securebase.trial.people.links import (
    age_on,
    current_carer,
    link_carer,
    link_self,
    link_teacher,
    placement_move,
    respondent_for,
    teacher_for,
)
from securebase.trial.people.tasks import close_task, open_reconsent_tasks, open_tasks

__all__ = ["add_person", "age_on", "close_task", "contact_history", "current_carer", "current_contact",
           "link_carer", "link_self", "link_teacher", "open_reconsent_tasks", "open_tasks", "placement_move",
           "respondent_for", "teacher_for", "update_contact"]
