"""The statistical analysis plan as data: models (``Plan``), loading and validation (``load_plan``),
readable rendering (``Plan.summary``) and the runner (``run_plan``)."""

from securebase.analysis.sap.models import Plan
from securebase.analysis.sap.runner import OutcomeResults, PlanResults, run_plan
from securebase.analysis.sap.validate import BUILTIN, check_plan, load_plan, plan_from_text

__all__ = ["Plan", "OutcomeResults", "PlanResults", "run_plan", "BUILTIN", "check_plan", "load_plan", "plan_from_text"]
