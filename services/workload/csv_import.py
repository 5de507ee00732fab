"""CSV bulk import: parse and validate every row; any error rejects the whole file.

Columns (header row required, order free): received_on, provider_ods, provider_name, category, and
optionally site, specialty, contract_clause, staff_role, minutes, description, nhs_number, client_ref.
Errors carry ``index`` (0-based data row), ``row`` (line in the file, header = 1), ``field`` and ``reason``;
they never repeat the value that was sent.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from pydantic import ValidationError

from services.workload.schemas import ItemIn
from services.workload.service import Workload, reference_errors
from shared.problems import invalid

REQUIRED = ("received_on", "provider_ods", "provider_name", "category")
OPTIONAL = (
    "site",
    "specialty",
    "contract_clause",
    "staff_role",
    "minutes",
    "description",
    "nhs_number",
    "client_ref",
)
COLUMNS = REQUIRED + OPTIONAL


def parse(raw: bytes, wl: Workload) -> list[ItemIn]:
    max_rows = wl.settings.workload_import_max_rows
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise invalid([{"field": "file", "reason": "the file is not UTF-8 text"}]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    header_errors = header_problems(header)
    if header_errors:
        raise invalid(header_errors, "The CSV header is not usable")
    reader.fieldnames = header
    items: list[ItemIn] = []
    errors: list[dict[str, Any]] = []
    for index, record in enumerate(reader):
        if index >= max_rows:
            raise invalid([{"field": "file", "reason": f"more than {max_rows} rows; split the file"}])
        line = reader.line_num
        if None in record:
            errors.append({"index": index, "row": line, "field": "row", "reason": "more values than columns"})
            continue
        values = {k: v.strip() for k, v in record.items() if v is not None and v.strip() != ""}
        try:
            item = ItemIn.model_validate(values)
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "row"
                errors.append({"index": index, "row": line, "field": field, "reason": err["msg"]})
            continue
        errors += [{"index": index, "row": line, **e} for e in reference_errors(item, wl)]
        items.append(item)
    if not items and not errors:
        raise invalid([{"field": "file", "reason": "the file has a header but no rows"}])
    if errors:
        raise invalid(errors, f"{len({e['index'] for e in errors})} row(s) are invalid; nothing was imported")
    return items


def header_problems(header: list[str]) -> list[dict[str, Any]]:
    if not header:
        return [{"field": "file", "reason": "the file is empty; the first line must name the columns"}]
    errors = [
        {"field": column, "reason": "required column is missing"}
        for column in REQUIRED
        if column not in header
    ]
    errors += [
        {"field": column, "reason": f"unknown column; columns are: {', '.join(COLUMNS)}"}
        for column in header
        if column not in COLUMNS
    ]
    if len(set(header)) != len(header):
        errors.append({"field": "file", "reason": "a column name appears twice"})
    return errors
