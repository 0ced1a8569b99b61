"""The health-economics analysis plan as data (YAML validated by pydantic).

Defaults follow the NICE reference case (NICE PMG36, 2022): NHS and personal social services perspective,
in which children's social care counts as personal social services (in England PSS are the social services
of local authorities, children's services included), plus secondary public-sector (adding education) and
societal (adding families' out-of-pocket costs) perspectives,
QALYs from a preference-based utility measure, discounting at 3.5% a year for costs and effects beyond
the first year, and thresholds of £20,000 and £30,000 per QALY on a configurable willingness-to-pay grid.
Direction of every difference: intervention minus usual care.

Built-in plans: ``ng26-care`` and ``ng26-maltreatment`` (``builtin/*.yaml``); :func:`load_plan` accepts a
built-in name or a path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from securebase.errors import ProtocolError
from securebase.instruments.unit_costs import CostCategory, UnitCostTable, check_price_year, load_unit_costs

BUILTIN_DIR = Path(__file__).parent / "builtin"
BUILTIN_PLANS = ("ng26-care", "ng26-maltreatment")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Perspective(_Model):
    name: str = Field(description="nhs_pss, public_sector, societal (or a custom name)")
    label: str
    categories: tuple[CostCategory, ...] = Field(description="the payers whose costs this perspective sums")
    rationale: str = Field("", description="why these payers (shown in the report)")


PSS_RATIONALE = ("NICE reference case (PMG36, 2022): NHS and personal social services. In England personal "
                 "social services are the social services of local authorities, children's social care "
                 "included (social work, foster and residential placements, family support, adoption "
                 "support), so children's social care costs belong in the primary perspective.")

DEFAULT_PERSPECTIVES = (
    Perspective(name="nhs_pss", label="NHS and personal social services (children's social care included)",
                categories=(CostCategory.nhs, CostCategory.pss, CostCategory.childrens_social_care),
                rationale=PSS_RATIONALE),
    Perspective(name="public_sector", label="Public sector (NHS, PSS incl. children's social care, education)",
                categories=(CostCategory.nhs, CostCategory.pss, CostCategory.childrens_social_care,
                            CostCategory.education),
                rationale="Secondary: adds education (schools, educational psychology, special provision)."),
    Perspective(name="societal", label="Societal (public sector plus families' out-of-pocket costs)",
                categories=(CostCategory.nhs, CostCategory.pss, CostCategory.childrens_social_care,
                            CostCategory.education, CostCategory.family),
                rationale="Secondary: adds families' own costs (travel, time off work, purchases)."),
)


class WTP(_Model):
    start: float = 0.0
    stop: float = 100_000.0
    step: float = 500.0
    thresholds: tuple[float, ...] = (20_000.0, 30_000.0)

    @model_validator(mode="after")
    def _grid(self) -> WTP:
        if not (self.start >= 0 and self.stop > self.start and self.step > 0):
            raise ValueError(f"grid must satisfy 0 <= start < stop and step > 0 (got {self.start}, "
                             f"{self.stop}, {self.step})")
        return self

    def grid(self) -> list[float]:
        n = int(round((self.stop - self.start) / self.step))
        pts = {round(self.start + i * self.step, 6) for i in range(n + 1)} | set(self.thresholds)
        return sorted(pts)


class Utility(_Model):
    measure: str = Field(description="preference-based measure, e.g. CHU9D or EQ-5D-Y-3L")
    value_set: str = Field(description="the value set (tariff) name used to score it")
    column: str = Field("utility", description="outcome name in the analysis datasets (utility_<month>)")
    minimum: float = Field(-0.594, description="lowest valid utility of the value set")
    valid_from_age: float | None = Field(None, ge=0, description="youngest age (years) the measure is valid for "
                                         "(CHU9D: 7); younger children's values are never used or imputed")
    under_age: Literal["exclude", "proxy"] = Field("exclude", description="children under valid_from_age at "
                                                   "baseline: 'exclude' them from the cost-utility analysis (declared) "
                                                   "or use 'proxy' (proxy_column) for their under-age visits")
    proxy_column: str | None = Field(None, description="proxy utility columns <name>_<month> (e.g. EQ-5D-Y proxy)")
    proxy_minimum: float = Field(-0.594, description="lowest valid utility of the proxy's value set")


class CarerUtility(_Model):
    """Carers' utility (e.g. EQ-5D-5L): their QALYs are added to the child's in a declared spill-over
    sensitivity analysis, never in the primary analysis."""

    measure: str = "EQ-5D-5L"
    value_set: str = "England EQ-5D-5L value set (Devlin et al. 2018) or the NICE-recommended mapping"
    column: str = "carer_utility"
    minimum: float = Field(-0.285, description="lowest valid utility of the value set (Devlin 2018: -0.285)")


class Discounting(_Model):
    costs: float = Field(0.035, ge=0, le=0.2)
    effects: float = Field(0.035, ge=0, le=0.2)
    undiscounted_days: float = Field(365.25, description="discounting applies beyond this time")


class InterventionCost(_Model):
    """Intervention cost from the delivery log, one of three ways (``mode``):

    * ``individual``: sessions x therapist time, plus each therapist's supervision and training shared over
      the therapist's caseload, plus materials;
    * ``group``: each group session costs facilitators x (duration + preparation) x hourly cost, shared over
      the participants who attended that session; each group's supervision and materials, and its share of
      the facilitators' training (training / groups run per training), are shared over the group's members;
    * ``flat``: a flat cost per attended session (``cost_per_session``), when micro-costing is not wanted.
    """

    mode: Literal["individual", "group", "flat"] = "individual"
    therapist_item: str = Field("therapist_hour", description="unit-cost key for an hour of therapist time")
    session_item: str = Field("intervention_session", description="resource-use item recording attended "
                              "sessions; costed here (not as a resource) to avoid double counting")
    minutes_per_session: float = Field(90, gt=0, description="contact plus preparation and travel")
    supervision_hours_per_therapist: float = Field(20, ge=0)
    supervisor_item: str = "therapist_hour"
    training_hours_per_therapist: float = Field(35, ge=0)
    training_fee_per_therapist: float = Field(0, ge=0, description="course fee, at the plan's price year")
    materials_per_participant: float = Field(0, ge=0)
    facilitators_per_group: int = Field(2, ge=1, description="group mode: facilitators running each session")
    preparation_minutes_per_session: float = Field(0, ge=0, description="group mode: per facilitator per session")
    supervision_hours_per_group: float = Field(0, ge=0, description="group mode")
    materials_per_group: float = Field(0, ge=0, description="group mode, at the plan's price year")
    groups_run_per_training: float = Field(1, gt=0, description="group mode: groups a trained facilitator "
                                           "runs; training is shared over them")
    cost_per_session: float | None = Field(None, ge=0, description="flat mode: cost per attended session at "
                                           "the plan's price year")
    category: CostCategory = Field(CostCategory.nhs, description="the intervention's payer, declared once; its "
                                   "cost counts in every perspective that includes this payer")

    @model_validator(mode="after")
    def _flat(self) -> InterventionCost:
        if self.mode == "flat" and self.cost_per_session is None:
            raise ValueError("mode 'flat' needs cost_per_session (the cost of one attended session at the "
                             "plan's price year)")
        return self


class ClinicalOutcome(_Model):
    """A clinical outcome for cost-per-unit: a 0/1 (or count) column where ``event_is_bad`` events are avoided."""

    name: str
    column: str
    label: str
    event_is_bad: bool = True


class Bootstrap(_Model):
    replicates: int = Field(5000, ge=100)
    seed: int = 20260101
    batch_size: int = Field(1000, ge=10)
    cluster: str | None = Field("therapist", description="participant column clustering outcomes, or null")


class Imputation(_Model):
    m: int = Field(5, ge=2)
    method: Literal["pmm"] = "pmm"
    donors: int = Field(5, ge=1)
    maxit: int = Field(5, ge=1)
    by_arm: bool = True


class Population(_Model):
    annual: float = Field(gt=0, description="people eligible each year in England")
    years: int = Field(gt=0, description="decision horizon for population EVPI")
    source: str = ""


class EconomicsPlan(_Model):
    trial: str
    title: str
    perspectives: tuple[Perspective, ...] = DEFAULT_PERSPECTIVES
    primary_perspective: str = "nhs_pss"
    currency: str = "GBP"
    price_year: str = "2023/24"
    time_horizon_days: float = Field(365.25, gt=0)
    discounting: Discounting = Discounting()
    wtp: WTP = WTP()
    utility: Utility
    carer_utility: CarerUtility | None = Field(None, description="carers' utility for the spill-over sensitivity "
                                               "analysis (securebase economics --carer-qalys)")
    unit_costs: str = Field("unit_costs_example", description="built-in table name, a YAML path or a CSV path")
    price_index: str | None = Field(None, description="for a CSV unit-cost table: the price index file (YAML or "
                                    "CSV price_year,index) or a built-in table name whose index is used")
    cost_categories: tuple[CostCategory, ...] = tuple(CostCategory)
    cost_covariates: tuple[str, ...] = ("age_years",)
    qaly_covariates: tuple[str, ...] = ("utility_0", "age_years")
    intervention_cost: InterventionCost = InterventionCost()
    clinical_outcomes: tuple[ClinicalOutcome, ...] = ()
    bootstrap: Bootstrap = Bootstrap()
    imputation: Imputation = Imputation()
    population: Population | None = None

    @field_validator("price_year")
    @classmethod
    def _py(cls, v: str) -> str:
        return check_price_year(v)

    @model_validator(mode="after")
    def _consistent(self) -> EconomicsPlan:
        names = [p.name for p in self.perspectives]
        if self.primary_perspective not in names:
            raise ValueError(f"primary_perspective must be one of {names} (got {self.primary_perspective!r})")
        if len(set(names)) != len(names):
            raise ValueError(f"perspective names must be unique (got {names})")
        costed = set(self.cost_categories)
        for p in self.perspectives:
            extra = [c.value for c in p.categories if c not in costed]
            if extra:
                raise ValueError(f"perspective {p.name!r} sums payer(s) {extra} that cost_categories does not cost; "
                                 f"add them to cost_categories ({[c.value for c in self.cost_categories]})")
        payer = self.intervention_cost.category
        if payer not in costed:
            raise ValueError(f"intervention_cost.category (the intervention's payer) is {payer.value!r}, which "
                             f"cost_categories does not cost; add it to cost_categories")
        if not any(payer in p.categories for p in self.perspectives):
            raise ValueError(f"no perspective includes the intervention's payer {payer.value!r}; the intervention "
                             f"cost would be counted nowhere")
        return self

    def perspectives_with_intervention(self) -> list[str]:
        """Names of the perspectives whose totals include the intervention cost (those with its payer)."""
        return [p.name for p in self.perspectives if self.intervention_cost.category in p.categories]

    def perspective(self, name: str) -> Perspective:
        for p in self.perspectives:
            if p.name == name:
                return p
        raise ProtocolError(f"unknown perspective {name!r}; the plan defines {[p.name for p in self.perspectives]}")

    def load_unit_costs(self) -> UnitCostTable:
        p = Path(self.unit_costs)
        if not p.suffix:
            p = BUILTIN_DIR / f"{self.unit_costs}.yaml"
        idx = None
        if self.price_index:
            idx = Path(self.price_index)
            if not idx.suffix:
                idx = BUILTIN_DIR / f"{self.price_index}.yaml"
        return load_unit_costs(p, idx)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def parse_plan(data: Any, file: str = "<plan>") -> EconomicsPlan:
    if not isinstance(data, dict):
        raise ProtocolError("a health-economics plan must be a YAML mapping", file=file)
    try:
        return EconomicsPlan.model_validate(data)
    except ValidationError as err:
        e = err.errors()[0]
        loc = ".".join(str(p) for p in e["loc"])
        raise ProtocolError(f"{e['msg']} (got {e.get('input')!r})", file=file, field=loc) from None


def load_plan(name_or_path: str | Path) -> EconomicsPlan:
    """Load a built-in plan by name (``ng26-care``) or a plan YAML file."""
    p = Path(name_or_path)
    if str(name_or_path) in BUILTIN_PLANS:
        p = BUILTIN_DIR / f"{name_or_path}.yaml"
    elif not p.exists():
        raise ProtocolError(f"no plan file or built-in plan named {str(name_or_path)!r}; built-in plans: "
                            f"{', '.join(BUILTIN_PLANS)}", file=str(name_or_path))
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ProtocolError(f"cannot read the plan: {err}", file=str(p)) from None
    return parse_plan(data, file=str(p))
