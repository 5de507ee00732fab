"""Human-readable terms for codes, from the codelists' ``term`` column."""

from __future__ import annotations

from functools import lru_cache

from shared.codelists import default_library


@lru_cache(maxsize=1)
def _terms() -> dict[str, str]:
    lib = default_library()
    out: dict[str, str] = {}
    for cluster in lib.clusters:
        for code, text in lib.get(cluster).terms.items():
            if text and code not in out:
                out[code] = text
    return out


def term(code: str) -> str | None:
    return _terms().get(code)
