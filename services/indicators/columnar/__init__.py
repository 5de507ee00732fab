"""The columnar engine: the same rule model as :mod:`services.indicators.domain.engine`, run over whole
populations in DuckDB (see :mod:`.compiler` for the translation and :mod:`.engine` for the tables)."""

from .engine import ColumnarOutcome, ColumnarRuleSet

__all__ = ["ColumnarOutcome", "ColumnarRuleSet"]
