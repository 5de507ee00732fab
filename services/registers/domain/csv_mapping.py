"""Clinical-system search exports (CSV) to coded entries (pure: no I/O).

Headers are matched case-, space- and punctuation-insensitively against the names EMIS Web and SystmOne
exports use; when several columns could carry one field the most specific wins ("SNOMED Code" over "Code").
Export preambles (search name, run date) above the header row are skipped. Dates may be ISO
(``2024-03-01``), UK day-first (``01/03/2024``) or ``01-Mar-2024``, with or without a time.

Rows are numbered as a spreadsheet shows them: the first line of the file is row 1.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import ValidationError

from services.registers.schemas import EntryIn, EntryKind
from shared.identifiers import normalise_nhs_number

# Field -> accepted normalised header names, most specific first.
ALIASES: dict[str, tuple[str, ...]] = {
    "nhs_number": ("nhsnumber", "nhsno", "nhs"),
    "code": ("snomedctconceptid", "snomedconceptid", "snomedctcode", "snomedcode", "snomedct", "snomedid",
             "conceptid", "dmdcode", "dmdid", "code"),
    "effective_date": ("effectivedate", "eventdate", "dateofevent", "effectivedatetime", "date"),
    "value": ("numericvalue", "resultvalue", "value", "result"),
    "unit": ("units", "unit", "unitofmeasure", "numericunit"),
    "recorded_by": ("recordedby", "userid", "staffid", "user"),
    "entry_id": ("entryid", "entryguid", "recordid", "observationid", "guid", "id"),
    "kind": ("entrykind", "entrytype", "kind"),
}
REQUIRED = ("nhs_number", "code", "effective_date")
KINDS: dict[str, EntryKind] = {
    "observation": "observation", "condition": "condition", "problem": "condition", "diagnosis": "condition",
    "medication": "medication", "drug": "medication", "immunisation": "immunisation",
    "immunization": "immunisation", "vaccination": "immunisation", "procedure": "procedure",
}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%b-%Y", "%d %b %Y", "%d-%m-%Y", "%d.%m.%Y", "%d-%B-%Y",
                "%d %B %Y")
_TIME = re.compile(r"^(.*?)[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$")
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?E\+\d+$", re.IGNORECASE)
PREAMBLE_ROWS = 20


@dataclass(frozen=True)
class RowError:
    row: int | None  # None: about the whole file
    column: str
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


class HeaderError(ValueError):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(e.reason for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class HeaderMap:
    row: int  # the header's row number
    columns: dict[str, int]  # field -> column index
    names: dict[str, str]  # field -> the header as written in the file

    def column(self, field: str) -> str:
        return self.names.get(field, field)


@dataclass(frozen=True)
class CsvRow:
    row: int
    entry: EntryIn


def normalise_header(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def map_header(cells: Sequence[str], row: int = 1) -> HeaderMap:
    """Which column carries which field; ``HeaderError`` when a required one is missing."""
    columns: dict[str, int] = {}
    ranks: dict[str, int] = {}
    for i, cell in enumerate(cells):
        key = normalise_header(cell)
        for fld, aliases in ALIASES.items():
            if key not in aliases:
                continue
            rank = aliases.index(key)
            if fld in columns and ranks[fld] == rank:
                raise HeaderError([RowError(row, cell, f"two columns are named '{cell}'")])
            if fld not in columns or rank < ranks[fld]:
                columns[fld], ranks[fld] = i, rank
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        raise HeaderError([RowError(row, f, f"no column for {f.replace('_', ' ')} (accepted headers: "
                                    f"{', '.join(ALIASES[f])}, in any case and spacing)") for f in missing])
    return HeaderMap(row, columns, {f: cells[i].strip() for f, i in columns.items()})


def _dialect(text: str) -> str:
    first = text.split("\n", PREAMBLE_ROWS)[:PREAMBLE_ROWS]
    return "\t" if sum(line.count("\t") for line in first) > sum(line.count(",") for line in first) else ","


def read_csv(text: str) -> tuple[HeaderMap, list[tuple[int, list[str]]]]:
    """The header (found within the first rows) and the data rows with their row numbers."""
    records = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=_dialect(text)))
    header: HeaderMap | None = None
    first_error: HeaderError | None = None
    for i, cells in enumerate(records[:PREAMBLE_ROWS]):
        if not any(c.strip() for c in cells):
            continue
        try:
            header = map_header(cells, i + 1)
            break
        except HeaderError as exc:
            first_error = first_error or exc
    if header is None:
        raise first_error or HeaderError([RowError(1, "", "the file is empty")])
    rows = [(n + 1, cells) for n, cells in enumerate(records)
            if n + 1 > header.row and any(c.strip() for c in cells)]
    return header, rows


def parse_date(text: str) -> date | None:
    raw = text.strip()
    match = _TIME.match(raw)
    candidates = (raw, match.group(1).strip()) if match else (raw,)
    for candidate in candidates:
        for fmt in DATE_FORMATS:
            try:
                return datetime.strptime(candidate, fmt).date()
            except ValueError:
                continue
    return None


def derived_entry_id(nhs: str, code: str, on: date, value: float | None, unit: str | None, kind: str) -> str:
    """A stable id from the row's content, so that importing the same file again changes nothing."""
    raw = f"{nhs}|{code}|{on.isoformat()}|{value!r}|{unit or ''}|{kind}"
    return "csv-" + hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()


def map_row(row: int, cells: Sequence[str], header: HeaderMap) -> CsvRow | list[RowError]:
    def cell(fld: str) -> str:
        i = header.columns.get(fld)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    errors: list[RowError] = []

    def bad(fld: str, reason: str) -> None:
        errors.append(RowError(row, header.column(fld), reason))

    nhs = normalise_nhs_number(cell("nhs_number"))
    if not nhs:
        bad("nhs_number", "the NHS number is missing")
    code = cell("code")
    if not code:
        bad("code", "the code is missing")
    elif _SCIENTIFIC.match(code):
        bad("code", f"'{code}' was turned into a number by a spreadsheet; export the file again with codes "
                    "as text")
    on = parse_date(cell("effective_date"))
    if on is None:
        bad("effective_date", f"'{cell('effective_date')}' is not a date (use 2024-03-01, 01/03/2024 or "
                              "01-Mar-2024)" if cell("effective_date") else "the date is missing")
    value: float | None = None
    if cell("value"):
        try:
            value = float(cell("value").replace(",", ""))
        except ValueError:
            bad("value", f"'{cell('value')}' is not a number")
        else:
            if not math.isfinite(value):
                bad("value", f"'{cell('value')}' is not a number")
    kind: EntryKind = "observation"
    if cell("kind"):
        found = KINDS.get(cell("kind").lower())
        if found is None:
            bad("kind", f"'{cell('kind')}' is not one of {', '.join(sorted(set(KINDS.values())))}")
        else:
            kind = found
    if errors or on is None:
        return errors
    unit = cell("unit") or None
    entry_id = cell("entry_id") or derived_entry_id(nhs, code, on, value, unit, kind)
    try:
        entry = EntryIn(entry_id=entry_id, nhs_number=nhs, code=code, effective_date=on, value=value,
                        unit=unit, kind=kind, recorded_by=cell("recorded_by") or None)
    except ValidationError as exc:
        return [RowError(row, header.column(str(e["loc"][0])), e["msg"]) for e in exc.errors()]
    return CsvRow(row, entry)


def map_rows(rows: Sequence[tuple[int, Sequence[str]]],
             header: HeaderMap) -> tuple[list[CsvRow], list[RowError]]:
    """Every row mapped, and every row's errors (including an entry id reused with other content)."""
    out: list[CsvRow] = []
    errors: list[RowError] = []
    seen: dict[str, tuple[int, EntryIn]] = {}
    for n, cells in rows:
        mapped = map_row(n, cells, header)
        if isinstance(mapped, list):
            errors.extend(mapped)
            continue
        first = seen.setdefault(mapped.entry.entry_id, (n, mapped.entry))
        if first[0] != n and first[1] != mapped.entry:
            errors.append(RowError(n, header.column("entry_id"), f"entry id also used by row {first[0]} with "
                                                                 "other content"))
            continue
        out.append(mapped)
    return out, errors
