"""Which text encoding a CSV upload is in (pure): UTF-8 with or without BOM, UTF-16, Windows-1252.

Clinical-system exports and spreadsheets save CSVs in these; anything else is refused with the reason
rather than read as garbled column names.
"""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


class EncodingRefused(ValueError):
    pass


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 text of mostly ASCII characters has a zero in every other byte."""
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def decode_csv(data: bytes) -> tuple[str, str]:
    """(text, encoding name) of an uploaded CSV; ``EncodingRefused`` saying why it cannot be read."""
    candidates = [name for bom, name in _BOMS if data.startswith(bom)]
    if not candidates:
        utf16 = _utf16_without_bom(data[:4096])
        candidates = [utf16] if utf16 else ["utf-8", "cp1252"]
    for name in candidates:
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            raise EncodingRefused("the file contains NUL characters: it is not a text CSV (save it as CSV "
                                  "UTF-8)")
        return text.lstrip("\ufeff"), name
    guess = from_bytes(data[:65536]).best()
    seen = f" (it looks like {guess.encoding})" if guess is not None else ""
    raise EncodingRefused(f"the file is not UTF-8, UTF-16 or Windows-1252 text{seen}: save it as CSV UTF-8")
