"""What the registers service knows about codes, loaded once: codelists, register rules, value ranges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from services.registers.domain.validation import ValueRange, value_ranges
from shared.codelists import CodelistLibrary, default_library
from shared.qof.registers import CompiledRegisters, RegistersByYear


@dataclass(frozen=True)
class Knowledge:
    library: CodelistLibrary
    registers: RegistersByYear
    known_codes: frozenset[str]
    ranges: dict[str, ValueRange]

    def register_relevant(self, code: str) -> bool:
        """A code some QOF year's register definitions read."""
        return code in self.registers.relevant_codes

    def registers_on(self, on: date) -> CompiledRegisters:
        """The register definitions of the QOF year containing ``on``, compiled."""
        return self.registers.compiled_on(on)

    def clusters(self, *names: str) -> frozenset[str]:
        """Codes of the named clusters that the library has (missing ones contribute nothing)."""
        return frozenset().union(*(self.library.get(n).codes for n in names if self.library.has(n)))


@lru_cache(maxsize=1)
def knowledge() -> Knowledge:
    library = default_library()
    return Knowledge(library, RegistersByYear(library), library.all_codes(), value_ranges(library))
