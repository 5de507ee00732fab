"""What the registers service knows about codes, loaded once: codelists, register rules, value ranges."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from services.registers.domain.validation import ValueRange, value_ranges
from shared.codelists import CodelistLibrary, default_library
from shared.qof.registers import CompiledRegisters, compile_registers


@dataclass(frozen=True)
class Knowledge:
    library: CodelistLibrary
    registers: CompiledRegisters
    known_codes: frozenset[str]
    ranges: dict[str, ValueRange]

    def register_relevant(self, code: str) -> bool:
        return code in self.registers.cluster_of

    def clusters(self, *names: str) -> frozenset[str]:
        """Codes of the named clusters that the library has (missing ones contribute nothing)."""
        return frozenset().union(*(self.library.get(n).codes for n in names if self.library.has(n)))


@lru_cache(maxsize=1)
def knowledge() -> Knowledge:
    library = default_library()
    return Knowledge(library, compile_registers(library), library.all_codes(), value_ranges(library))
