"""Errors raised by the indicators domain; each says what is wrong, where, and how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class IndicatorsError(Exception):
    """Base class: ``str(error)`` includes the hint."""

    def __init__(self, message: str, *, where: str = "", hint: str = "") -> None:
        self.message = message
        self.where = where
        self.hint = hint
        text = f"{where}: {message}" if where else message
        if hint:
            text += f" (hint: {hint})"
        super().__init__(text)


class RuleSetError(IndicatorsError):
    """A rule-set data file is malformed."""


class UnknownRuleSet(IndicatorsError):
    """No rule set with that id."""


class InvalidRecord(IndicatorsError):
    """A PatientRecord or CodedEvent failed validation."""


class IncompleteIndicator(IndicatorsError):
    """An indicator cannot be scored because some of its clusters have no codelist."""

    def __init__(self, indicator_id: str, missing: Iterable[str]) -> None:
        self.indicator_id = indicator_id
        self.missing = tuple(sorted(missing))
        super().__init__(
            f"indicator {indicator_id} is incomplete: no codelist for {', '.join(self.missing)}",
            hint="load the refset with CodelistLibrary.add_export(cluster, version, text, source=...)",
        )


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else ""
