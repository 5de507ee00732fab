"""QOF disease registers as declarative definitions, read like the published business rules.

A patient is on a register when, on the achievement date:
  1. their latest diagnosis code (``diagnosis`` clusters) is not followed by a later ``resolved`` code;
  2. their age meets the register's limits ("age in full years at the achievement date");
  3. any extra condition holds (a drug issued in the last N months, a value in range in the last N months,
     a diagnosis on or after a date, not being on another register).

Definitions reference clusters by their business-rule names. A cluster with no public codelist is never
invented: the register reports it in ``missing`` and is ``partial`` (a condition cannot be tested and is
skipped, which is said to the user) or ``unavailable`` (no diagnosis codes at all).
Source: PCD output descriptions (5 Dec 2024) and the v46 rule text quoted in QOF_RULES.md §2.

Registers are defined per QOF year (1 April to 31 March): ``REGISTERS`` holds the definitions in force up to
2025/26, and ``CHANGES`` the definitions a later year replaces (2026/27: asthma from age 5, the NDH register
widened to previous gestational diabetes, the obesity register's ethnicity-adjusted threshold; reference
``../shared/reference/qof-2026-27/README.md``). ``definitions_for(qof_year)`` gives a year's definitions,
``qof_year_of(day)`` the year a date is in, and ``RegistersByYear`` evaluates a patient on any date with the
definitions of the year containing it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

from shared.codelists import CodelistLibrary
from shared.qof.age import age_in_years


@dataclass(frozen=True)
class Recent:
    """A code from ``clusters`` dated within ``months`` before the achievement date (inclusive)."""

    clusters: tuple[str, ...]
    months: int


@dataclass(frozen=True)
class Since:
    """A code from ``clusters`` dated on or after ``on_or_after``, asked of the patients aged ``min_age`` to
    ``max_age`` (inclusive, in full years at the achievement date; None: no limit)."""

    clusters: tuple[str, ...]
    on_or_after: date
    min_age: int | None = None
    max_age: int | None = None

    def applies(self, age: int) -> bool:
        return (self.min_age is None or age >= self.min_age) and (self.max_age is None or age <= self.max_age)


@dataclass(frozen=True)
class LatestValue:
    """The latest value from ``clusters`` in the last ``months`` is at least ``minimum``.

    ``lowered_minimum`` applies instead to patients with a code from ``lowered_for`` (e.g. the ethnicity
    clusters of the obesity register); while none of those clusters has a codelist it cannot be tested.
    """

    clusters: tuple[str, ...]
    minimum: float
    months: int
    lowered_minimum: float | None = None
    lowered_for: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegisterDefinition:
    id: str
    name: str
    prevalence_group: str  # the group code of the national prevalence table (DM, HYP, ...)
    diagnosis: tuple[str, ...]
    resolved: tuple[str, ...] = ()
    min_age: int | None = None
    max_age: int | None = None
    diagnosed_on_or_after: date | None = None
    requires: tuple[Recent, ...] = ()
    since: tuple[Since, ...] = ()
    value_rule: LatestValue | None = None
    not_on: tuple[str, ...] = ()
    # Clusters of published conditions this definition cannot test yet (no public codelist).
    untested: tuple[str, ...] = ()
    notes: str = ""

    def clusters(self) -> set[str]:
        found = set(self.diagnosis) | set(self.resolved)
        for r in self.requires:
            found |= set(r.clusters)
        for since in self.since:
            found |= set(since.clusters)
        if self.value_rule:
            found |= set(self.value_rule.clusters) | set(self.value_rule.lowered_for)
        return found | set(self.untested)


Status = Literal["complete", "partial", "unavailable"]


@dataclass(frozen=True)
class RegisterAvailability:
    register: str
    status: Status
    missing: tuple[str, ...]
    stand_ins: tuple[str, ...]


REGISTERS: tuple[RegisterDefinition, ...] = (
    RegisterDefinition("AFIB_REG", "Atrial fibrillation", "AF", ("AFIB_COD",), ("AFIBRES_COD",)),
    RegisterDefinition(
        "AST_REG",
        "Asthma",
        "AST",
        ("AST_COD",),
        ("ASTRES_COD",),
        min_age=6,
        requires=(Recent(("ASTTRT_COD",), 12),),
        notes="Aged at least 6 with asthma-related drug treatment in the preceding 12 months",
    ),
    RegisterDefinition("CAN_REG", "Cancer", "CAN", ("CAN_COD",), diagnosed_on_or_after=date(2003, 4, 1)),
    RegisterDefinition("CHD_REG", "Coronary heart disease", "CHD", ("CHD_COD",)),
    RegisterDefinition(
        "CKD_REG",
        "Chronic kidney disease G3a-G5",
        "CKD",
        ("CKD_COD",),
        ("CKD1AND2_COD", "CKDRES_COD"),
        min_age=18,
        notes="Latest CKD stage code is G3a-G5: a later stage 1-2 or resolved code takes them off",
    ),
    RegisterDefinition(
        "COPD_REG",
        "COPD",
        "COPD",
        ("COPD_COD",),
        ("COPDRES_COD",),
        untested=("FEV1FVCL70_COD",),
        notes="Diagnoses on or after 1 Apr 2023 also need FEV1/FVC < 0.7 (FEV1FVCL70_COD), "
        "not yet public: not tested",
    ),
    RegisterDefinition("DEM_REG", "Dementia", "DEM", ("DEM_COD",)),
    RegisterDefinition(
        "DEP1_REG",
        "Depression",
        "DEP",
        ("DEPR_COD",),
        ("DEPRES_COD",),
        min_age=18,
        diagnosed_on_or_after=date(2006, 4, 1),
    ),
    RegisterDefinition("DM_REG", "Diabetes mellitus", "DM", ("DM_COD",), ("DMRES_COD",), min_age=17),
    RegisterDefinition(
        "EPIL_REG",
        "Epilepsy",
        "EP",
        ("EPIL_COD",),
        ("EPILRES_COD",),
        min_age=18,
        requires=(Recent(("EPILDRUG_COD",), 6),),
    ),
    RegisterDefinition("HF1_REG", "Heart failure", "HF", ("HF_COD",), ("HFRES_COD",)),
    RegisterDefinition(
        "HF2_REG",
        "Heart failure due to LVSD or reduced ejection fraction",
        "HF",
        ("HFLVSD_COD", "REDEJCFRAC_COD"),
        ("HFRES_COD",),
    ),
    RegisterDefinition("HYP_REG", "Hypertension", "HYP", ("HYP_COD",), ("HYPRES_COD",)),
    RegisterDefinition("LD_REG", "Learning disability", "LD", ("LD_COD",)),
    RegisterDefinition(
        "MH1_REG",
        "Schizophrenia, bipolar affective disorder and other psychoses",
        "MH",
        ("MH_COD",),
        ("MHREM_COD",),
    ),
    RegisterDefinition(
        "NDH_REG",
        "Non-diabetic hyperglycaemia",
        "NDH",
        ("NDH_COD", "IGT_COD", "PRD_COD"),
        min_age=18,
        not_on=("DM_REG",),
    ),
    RegisterDefinition(
        "OB_REG",
        "Obesity",
        "OB",
        ("BMIVAL_COD",),
        min_age=18,
        value_rule=LatestValue(("BMIVAL_COD",), 30.0, 12),
        untested=("BMI30_COD",),
        notes="BMI ≥ 30 in the last 12 months; the ≥ 27.5 threshold for some ethnic "
        "backgrounds needs the ethnicity clusters, not yet public: not tested",
    ),
    RegisterDefinition(
        "OSTEO_REG",
        "Osteoporosis",
        "OST",
        ("OSTEO_COD",),
        min_age=50,
        since=(Since(("FF_COD",), date(2012, 4, 1), 50, 74), Since(("FF_COD",), date(2014, 4, 1), 75)),
        untested=("DXA_COD", "DXA2_COD"),
        notes="Aged 50-74 with a fragility fracture on or after 1 Apr 2012 and osteoporosis confirmed on DXA scan, "
        "or aged 75 or over with a fragility fracture on or after 1 Apr 2014 and osteoporosis; the DXA "
        "confirmation (DXA_COD, DXA2_COD) has no public codelist: not tested",
    ),
    RegisterDefinition("PAD_REG", "Peripheral arterial disease", "PAD", ("PAD_COD",)),
    RegisterDefinition("PALCARE_REG", "Palliative care", "PC", ("PALCARE_COD",), ("PALCARENI_COD",)),
    RegisterDefinition("RA_REG", "Rheumatoid arthritis", "RA", ("RARTH_COD",), min_age=16),
    RegisterDefinition("STIA_REG", "Stroke and transient ischaemic attack", "STIA", ("STRK_COD", "TIA_COD")),
)
BY_ID = {r.id: r for r in REGISTERS}

# South Asian, Chinese, other Asian, Middle Eastern, Black African or African-Caribbean family background
# (OBES_REG wording), read onto the 2016 ethnicity clusters of the PCD mapping (v46): Indian, Pakistani,
# Bangladeshi, Chinese, other Asian, Arab, African, Caribbean. The mapping of groups to clusters is a reading [U].
OBESITY_LOWER_BMI_ETHNICITY = (
    "ETH2016AI_COD",
    "ETH2016AP_COD",
    "ETH2016AB_COD",
    "ETH2016AC_COD",
    "ETH2016AO_COD",
    "ETH2016OA_COD",
    "ETH2016BA_COD",
    "ETH2016BC_COD",
)

QOF_YEARS: tuple[str, ...] = ("2024-25", "2025-26", "2026-27")

# Definitions a QOF year replaces, from that year on (later years inherit them unless they change again).
CHANGES: dict[str, tuple[RegisterDefinition, ...]] = {
    "2026-27": (
        replace(
            BY_ID["AST_REG"],
            min_age=5,
            notes="Aged at least 5 with asthma-related drug treatment in the preceding 12 months "
            "(2026/27: the register starts at 5, was 6; AST014/AST015 renamed for it) [S]",
        ),
        replace(
            BY_ID["NDH_REG"],
            diagnosis=("NDH_COD", "IGT_COD", "PRD_COD", "GESTDIAB_COD"),
            notes="Aged 18 or over with non-diabetic hyperglycaemia or previous gestational diabetes, "
            "not on the diabetes register (2026/27: widened to previous gestational diabetes for NDH003) [S]",
        ),
        replace(
            BY_ID["OB_REG"],
            value_rule=LatestValue(
                ("BMIVAL_COD",), 30.0, 12, lowered_minimum=27.5, lowered_for=OBESITY_LOWER_BMI_ETHNICITY
            ),
            notes="Aged 18 or over with BMI ≥ 30 in the last 12 months, or ≥ 27.5 for South Asian, Chinese, "
            "other Asian, Middle Eastern, Black African or African-Caribbean family background "
            "(2026/27, for OB004/OB005) [S, one source]; the ethnicity clusters are not yet public: "
            "the lower threshold is not tested until they are",
        ),
    ),
}


def qof_year_of(day: date) -> str:
    """The QOF year (1 April to 31 March) containing ``day``, as ``"2026-27"``."""
    start = day.year if (day.month, day.day) >= (4, 1) else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def definitions_for(qof_year: str) -> tuple[RegisterDefinition, ...]:
    """The register definitions in force in ``qof_year`` (``"2026-27"``): every change made up to that year.

    A year before the first one held uses the earliest definitions; a year after the last, the latest.
    """
    if len(qof_year) != 7 or qof_year[4] != "-" or not (qof_year[:4] + qof_year[5:]).isdigit():
        raise ValueError(f"QOF year {qof_year!r} is not of the form 2026-27")
    current = dict(BY_ID)
    for year in sorted(CHANGES):
        if year <= qof_year:
            current.update({d.id: d for d in CHANGES[year]})
    return tuple(current[d.id] for d in REGISTERS)


def availability(definition: RegisterDefinition, library: CodelistLibrary) -> RegisterAvailability:
    missing = tuple(sorted(c for c in definition.clusters() if not library.has(c)))
    stand_ins = tuple(sorted(c for c in definition.clusters() if library.status(c) == "stand-in"))
    if not any(library.has(c) for c in definition.diagnosis):
        status: Status = "unavailable"
    elif missing:
        status = "partial"
    else:
        status = "complete"
    return RegisterAvailability(definition.id, status, missing, stand_ins)


@dataclass(frozen=True)
class CodeEvent:
    code: str
    date: date
    value: float | None = None


@dataclass
class CompiledRegisters:
    """Definitions bound to a codelist library: one code -> clusters index for single-pass evaluation."""

    definitions: tuple[RegisterDefinition, ...]
    cluster_of: dict[str, frozenset[str]]
    available: dict[str, RegisterAvailability] = field(default_factory=dict)
    known_clusters: frozenset[str] = frozenset()

    @property
    def relevant_codes(self) -> frozenset[str]:
        return frozenset(self.cluster_of)

    def evaluate(self, events: Iterable[CodeEvent], date_of_birth: date, on: date) -> dict[str, date]:
        """Registers the patient is on at ``on``, each with the date of its first diagnosis code."""
        first: dict[str, date] = {}
        latest: dict[str, date] = {}
        latest_value: dict[str, tuple[date, float | None]] = {}
        for ev in events:
            if ev.date > on:
                continue
            for cluster in self.cluster_of.get(ev.code, ()):
                if cluster not in first or ev.date < first[cluster]:
                    first[cluster] = ev.date
                if cluster not in latest or ev.date > latest[cluster]:
                    latest[cluster] = ev.date
                    latest_value[cluster] = (ev.date, ev.value)
        age = age_in_years(date_of_birth, on)
        result: dict[str, date] = {}
        for d in self.definitions:
            if self.available[d.id].status == "unavailable":
                continue
            since = _on_register(d, first, latest, latest_value, age, on, self.known_clusters)
            if since is not None:
                result[d.id] = since
        for d in self.definitions:
            if d.id in result and any(other in result for other in d.not_on):
                del result[d.id]
        return result


def _months_before(on: date, months: int) -> date:
    year, month = divmod(on.year * 12 + on.month - 1 - months, 12)
    day = min(
        on.day,
        [
            31,
            29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ][month],
    )
    return date(year, month + 1, day)


def _on_register(
    d: RegisterDefinition,
    first: dict[str, date],
    latest: dict[str, date],
    latest_value: dict[str, tuple[date, float | None]],
    age: int,
    on: date,
    known: frozenset[str],
) -> date | None:
    dx_latest = max((latest[c] for c in d.diagnosis if c in latest), default=None)
    if dx_latest is None:
        return None
    resolved = max((latest[c] for c in d.resolved if c in latest), default=None)
    # Rule 1: the latest diagnosis is not followed by a resolved code (same day counts as resolved).
    if resolved is not None and resolved >= dx_latest:
        return None
    if d.diagnosed_on_or_after and dx_latest < d.diagnosed_on_or_after:
        return None
    if d.min_age is not None and age < d.min_age:
        return None
    if d.max_age is not None and age > d.max_age:
        return None
    for req in d.requires:
        # A condition on a cluster with no codelist cannot be tested; availability() reports it.
        if not any(c in known for c in req.clusters):
            continue
        recent = max((latest[c] for c in req.clusters if c in latest), default=None)
        if recent is None or recent <= _months_before(on, req.months):
            return None
    for since in d.since:
        if not since.applies(age) or not any(c in known for c in since.clusters):
            continue
        dated = max((latest[c] for c in since.clusters if c in latest), default=None)
        if dated is None or dated < since.on_or_after:
            return None
    if d.value_rule:
        rule = d.value_rule
        newest = max((latest_value[c] for c in rule.clusters if c in latest_value), default=None)
        minimum = rule.minimum
        if rule.lowered_minimum is not None and any(c in latest for c in rule.lowered_for):
            minimum = rule.lowered_minimum
        if (
            newest is None
            or newest[0] <= _months_before(on, rule.months)
            or newest[1] is None
            or newest[1] < minimum
        ):
            return None
    return min(first[c] for c in d.diagnosis if c in first)


def compile_registers(
    library: CodelistLibrary, definitions: tuple[RegisterDefinition, ...] = REGISTERS
) -> CompiledRegisters:
    cluster_of: dict[str, set[str]] = {}
    available = {d.id: availability(d, library) for d in definitions}
    for d in definitions:
        for cluster in d.clusters():
            if not library.has(cluster):
                continue
            for code in library.get(cluster).codes:
                cluster_of.setdefault(code, set()).add(cluster)
    known = frozenset(c for d in definitions for c in d.clusters() if library.has(c))
    return CompiledRegisters(definitions, {k: frozenset(v) for k, v in cluster_of.items()}, available, known)


class RegistersByYear:
    """Every QOF year's register definitions compiled against one library; a date is evaluated with the
    definitions of the year containing it (``compiled_on``)."""

    def __init__(self, library: CodelistLibrary) -> None:
        self._library = library
        self._compiled: dict[tuple[str, ...], CompiledRegisters] = {}
        self._years: dict[str, CompiledRegisters] = {}
        self.by_year: dict[str, CompiledRegisters] = {y: self.for_year(y) for y in QOF_YEARS}
        self.relevant_codes: frozenset[str] = frozenset().union(
            *(c.relevant_codes for c in self.by_year.values())
        )

    def for_year(self, qof_year: str) -> CompiledRegisters:
        # Called for every patient evaluated: the year's compiled definitions are looked up, not re-keyed.
        hit = self._years.get(qof_year)
        if hit is None:
            definitions = definitions_for(qof_year)
            key = tuple(repr(d) for d in definitions)  # years with the same definitions share one compilation
            if key not in self._compiled:
                self._compiled[key] = compile_registers(self._library, definitions)
            hit = self._years[qof_year] = self._compiled[key]
        return hit

    def compiled_on(self, on: date) -> CompiledRegisters:
        return self.for_year(qof_year_of(on))

    def evaluate(self, events: Iterable[CodeEvent], date_of_birth: date, on: date) -> dict[str, date]:
        """Registers the patient is on at ``on`` under the definitions of the QOF year containing ``on``."""
        return self.compiled_on(on).evaluate(events, date_of_birth, on)
