"""CSV files for staff to open in a spreadsheet program, Swedish Excel first: UTF-8 with a byte
order mark (without it Excel reads å, ä and ö as two characters each), columns split on ";" (the
list separator of Swedish Windows, where "," is the decimal comma), dates and times in the named
formats core.dates keeps for spreadsheets, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

BYTE_ORDER_MARK = "\ufeff"
DELIMITER = ";"
CONTENT_TYPE = "text/csv; charset=utf-8"

# The formula characters spreadsheet programs act on: a resource or name typed as "=HYPERLINK(…)"
# must open as text, not run (CSV injection).
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    return f"'{value}" if value.startswith(_CSV_FORMULA_START) else value


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a streamed answer."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[list[str]]) -> Iterator[str]:
    """The file line by line, the byte order mark first: for an answer streamed or written whole."""
    writer = csv.writer(_Echo(), delimiter=DELIMITER)
    yield BYTE_ORDER_MARK + writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)
