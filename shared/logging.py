"""JSON logs that never carry patient identifiers.

Code logs ids and counts only; as a second line of defence a filter masks anything in a message or an
extra field that looks like an NHS number, a date, an e-mail address, a phone number or a postcode, and
drops extra fields whose names say they hold personal data.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

_PATTERNS = [
    (re.compile(r"(?<!\d)\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)"), "[nhs-number]"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[email]"),
    (re.compile(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?![\w-])"), "[date]"),
    (re.compile(r"(?<!\d)\+?44\s?\d{4}\s?\d{6}(?!\d)|(?<!\d)0\d{4}\s?\d{6}(?!\d)"), "[phone]"),
    (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b"), "[postcode]"),
]
_SENSITIVE_KEYS = {
    "nhs_number",
    "name",
    "given_name",
    "family_name",
    "date_of_birth",
    "dob",
    "email",
    "phone",
    "mobile",
    "address",
    "postcode",
    "contact",
}
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    for pattern, mask in _PATTERNS:
        text = pattern.sub(mask, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key in _STANDARD or key.startswith("_"):
                continue
            if key.lower() in _SENSITIVE_KEYS:
                out[key] = "[redacted]"
            else:
                out[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info and record.exc_info[0] is not None:
            # Exception type only: messages and tracebacks can quote request data.
            out["exception"] = record.exc_info[0].__name__
        return json.dumps(out, default=str)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # aiokafka logs every failed reconnect at ERROR; the relay and consumers report outages themselves.
    logging.getLogger("aiokafka").setLevel("CRITICAL")
