"""Honest partial scoring: when an indicator missing some clusters can still be scored as a lower bound.

An indicator whose only missing clusters feed personalised care adjustment steps (PCA, invitation,
"exception" in the older wording) can be scored with those clusters empty: a patient the full rule chain
would have adjusted out stays in the denominator instead. That can only lower achievement, and so points and
£, provided

- every step reading a missing cluster rejects as a PCA when its test is true (never an exclusion from the
  population, never a selection: a missing register, population or success cluster makes it incomplete);
- the test can only become true through codes of that cluster (``has``, ``invited`` counting invitations,
  ``given_at_age``, ``near_first`` on its ``clusters``; and ``all``/``any`` of such tests), so no code of the
  cluster could turn a patient away from the PCA;
- nothing after that step can select the numerator (the patient who would have been adjusted out can only
  end in the denominator, in another PCA or outside the population).

Anything else — a negation, a "latest of" comparison, a first-diagnosis date, a PCA step ahead of a success
step — keeps the indicator incomplete, and :func:`lower_bound_blockers` says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .rules import clusters_in
from .ruleset import Indicator, RuleStep

# per test, the parameters whose codes can only make the test true
_MONOTONE_KEYS: dict[str, frozenset[str]] = {
    "has": frozenset({"clusters"}),
    "invited": frozenset({"clusters"}),
    "given_at_age": frozenset({"clusters"}),
    "near_first": frozenset({"clusters"}),
}


def only_adds_truth(test: Mapping[str, Any], cluster: str) -> bool:
    """True when codes of ``cluster`` can only turn ``test`` from false to true, never the other way."""
    ((name, params),) = test.items()
    if name in ("all", "any"):
        return all(cluster not in clusters_in(t) or only_adds_truth(t, cluster) for t in params)
    if cluster not in clusters_in(test):
        return True
    keys = _MONOTONE_KEYS.get(name)
    if keys is None or not isinstance(params, Mapping):
        return False
    return not any(key not in keys and cluster in clusters_in({key: value}) for key, value in params.items())


def _selects_numerator(step: RuleStep) -> bool:
    return "numerator" in (step.if_true.outcome, step.if_false.outcome)


def lower_bound_blockers(indicator: Indicator, missing: Sequence[str]) -> list[str]:
    """Why scoring ``indicator`` with the ``missing`` clusters empty would not be a lower bound (empty: it is)."""
    if indicator.kind != "patient":
        return [f"{indicator.id} is a {indicator.kind} indicator"]
    gone = set(missing)  # a cluster no rule step reads (only the gap hint's invitations) changes no outcome
    reasons: list[str] = []
    for i, step in enumerate(indicator.rules):
        for c in sorted(clusters_in(step.test) & gone):
            where = f"rule {step.number} ({c})"
            if step.if_true.kind != "reject" or step.if_true.outcome != "pca":
                reasons.append(f"{where} is not a PCA step: {step.if_true.describe()}")
            elif step.if_false.outcome == "numerator" or any(_selects_numerator(s) for s in indicator.rules[i + 1:]):
                reasons.append(f"{where}: a later step can still select the numerator")
            elif not only_adds_truth(step.test, c):
                reasons.append(f"{where}: its codes could also keep a patient from the PCA")
    return reasons
