"""Pure core of the indicators service: QOF rule sets as data, a compiled rule engine and scoring.

Service-layer API (all pure; the only I/O is reading the packaged rule-set files)::

    from services.indicators.domain import (
        load_ruleset, available_rulesets, compile_ruleset, evaluate_patient,
        PatientRecord, CodedEvent, score_indicator, PracticeContext, score_attestation,
        AttestationEvidence, project_year_end, compare_rulesets, registers_for, load_contract)

    ruleset = load_ruleset("qof-2025-26")                        # RuleSet (frozen dataclasses)
    engine = compile_ruleset(ruleset, library)                   # CompiledRuleSet; .readiness / .incomplete / .codes
    outcomes = engine.evaluate(patient, achievement_date)        # list[PatientOutcome] with Trace and Gap
    score = score_indicator(ruleset.indicator("DM020"), outcomes, PracticeContext(...), ruleset.settings)

Modules: ``records`` (input types), ``ruleset`` (model + loader), ``rules`` (rule-test vocabulary),
``clusters`` (codelist resolution and alias table), ``engine``, ``registers``, ``scoring``, ``money``,
``attestation``, ``projection``, ``whatif``, ``contract``, ``provenance``, ``dates``, ``errors``.
"""

from .attestation import AttestationEvidence, score_attestation
from .contract import Contract, load_contract
from .engine import (
    CompiledRuleSet,
    Evidence,
    Finding,
    Gap,
    IndicatorReadiness,
    PatientOutcome,
    Trace,
    compile_ruleset,
    evaluate_patient,
)
from .errors import IncompleteIndicator, IndicatorsError, InvalidRecord, RuleSetError, UnknownRuleSet
from .money import achievement_payment, apdf, aspiration_payment, cpi, indicator_value
from .projection import MonthPoint, Projection, project_year_end
from .provenance import Sourced
from .records import CodedEvent, PatientRecord
from .registers import RegisterEvaluator, registers_for
from .ruleset import Indicator, RuleSet, available_rulesets, load_ruleset
from .scoring import IndicatorScore, PracticeContext, points_for, score_indicator, score_practice
from .whatif import IndicatorDelta, compare_rulesets

__all__ = [
    "AttestationEvidence",
    "CodedEvent",
    "CompiledRuleSet",
    "Contract",
    "Evidence",
    "Finding",
    "Gap",
    "IncompleteIndicator",
    "Indicator",
    "IndicatorDelta",
    "IndicatorReadiness",
    "IndicatorScore",
    "IndicatorsError",
    "InvalidRecord",
    "MonthPoint",
    "PatientOutcome",
    "PatientRecord",
    "PracticeContext",
    "Projection",
    "RegisterEvaluator",
    "RuleSet",
    "RuleSetError",
    "Sourced",
    "Trace",
    "UnknownRuleSet",
    "achievement_payment",
    "apdf",
    "aspiration_payment",
    "available_rulesets",
    "compare_rulesets",
    "compile_ruleset",
    "cpi",
    "evaluate_patient",
    "indicator_value",
    "load_contract",
    "load_ruleset",
    "points_for",
    "project_year_end",
    "registers_for",
    "score_attestation",
    "score_indicator",
    "score_practice",
]
