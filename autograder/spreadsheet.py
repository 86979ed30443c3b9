"""CSV text that spreadsheets and LMS importers read as data, never as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

# A spreadsheet reads a cell beginning with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Text from the data, quoted so that no spreadsheet runs it as a formula; numbers as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_text(rows: Iterable[Iterable[object]], quoting: int = csv.QUOTE_MINIMAL) -> str:
    """Rows as CSV with RFC 4180 line ends (\\r\\n: write the text to a file opened with newline=""),
    every text cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=quoting)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()
