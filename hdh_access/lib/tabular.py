"""Tables people open in a spreadsheet: every download of a page is written here, as CSV or XLSX.

``write_table(rows, columns, format="csv"|"xlsx")`` returns the file as an iterator of bytes
(``download`` wraps it in a streaming response). The caller gives headers and labels already
translated (the page's language) and typed values; this module decides how each type is written:

- **CSV**: UTF-8 with a BOM, ``;`` between cells (what a French spreadsheet expects), CRLF line
  ends; numbers with the language's decimal separator (``12,5`` in French); dates ``YYYY-MM-DD``
  and instants ``YYYY-MM-DD HH:MM`` in Paris time (both read as dates by spreadsheets in every
  language); booleans as "Oui"/"Non" in the language; text that a spreadsheet would run as a
  formula gets a leading ``'`` (``csvsafe.spreadsheet_cell``).
- **XLSX** (openpyxl, write-only mode: rows go to a temporary file as they come, so the memory
  does not grow with the table): numbers as numbers, dates and instants as date cells (Paris
  time, Excel knows no time zones), a bold and frozen header row, column widths; every text cell
  is stored as text, never a formula (``=HYPERLINK(...)`` in a title stays a title), and the
  control characters XML cannot hold are dropped.

The machine-readable command outputs (``delay_report --format csv``) keep ``csvsafe.writer``
and their documented columns.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse
from django.utils.formats import get_format
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from hdh_access.lib.csvsafe import FORMULA_STARTS, spreadsheet_cell
from hdh_access.lib.dates import PARIS

CSV = "csv"
XLSX = "xlsx"
FORMATS = (CSV, XLSX)
CONTENT_TYPES = {
    CSV: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BOM = "\ufeff"
SEPARATOR = ";"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
CHUNK = 64 * 1024
MAX_WIDTH = 60
_SHEET_TITLE_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


@dataclass(frozen=True)
class Column:
    """A column: its header (translated) and its XLSX width in characters."""

    header: str
    width: float = 16


def write_table(rows: Iterable[Sequence[Any]], columns: Sequence[Column | str], *, format: str = CSV,
                sheet_title: str = "") -> Iterator[bytes]:
    """The table as a file, in chunks of bytes. Language-dependent choices (decimal separator,
    yes/no) are made now, in the active language; ``rows`` is read lazily, as the file is."""
    cols = [c if isinstance(c, Column) else Column(str(c)) for c in columns]
    if format == CSV:
        return _csv(rows, cols, decimal=str(get_format("DECIMAL_SEPARATOR")), yes=_("Oui"), no=_("Non"))
    if format == XLSX:
        return _xlsx(rows, cols, yes=_("Oui"), no=_("Non"), title=sheet_title)
    raise ValueError(f"unknown table format {format!r}")


def download(rows: Iterable[Sequence[Any]], columns: Sequence[Column | str], *, format: str, filename: str,
             sheet_title: str = "") -> StreamingHttpResponse:
    """A streaming attachment ``<filename>.<format>`` holding the table."""
    response = StreamingHttpResponse(write_table(rows, columns, format=format, sheet_title=sheet_title),
                                     content_type=CONTENT_TYPES[format])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{format}"'
    return response


def paris(value: dt.datetime) -> dt.datetime:
    """An aware instant as Paris wall-clock time without a zone (what a spreadsheet holds)."""
    return value.astimezone(PARIS).replace(tzinfo=None) if value.tzinfo is not None else value


# --- CSV ---------------------------------------------------------------------------------
def csv_cell(value: Any, *, decimal: str = ".", yes: str = "true", no: str = "false") -> str:
    """One value as CSV text (see the module); text is made safe, numbers are never text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value if value[:1] not in FORMULA_STARTS else spreadsheet_cell(value)
    if isinstance(value, bool):
        return yes if value else no
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        return str(value).replace(".", decimal)
    if isinstance(value, dt.datetime):
        return paris(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(spreadsheet_cell(str(value)))


class _Line:
    def write(self, value: str) -> str:
        return value


def _csv(rows: Iterable[Sequence[Any]], columns: list[Column], *, decimal: str, yes: str,
         no: str) -> Iterator[bytes]:
    writer = csv.writer(_Line(), delimiter=SEPARATOR, lineterminator="\r\n")
    yield (BOM + writer.writerow([spreadsheet_cell(c.header) for c in columns])).encode("utf-8")
    for row in rows:
        yield writer.writerow([csv_cell(v, decimal=decimal, yes=yes, no=no) for v in row]).encode("utf-8")


# --- XLSX --------------------------------------------------------------------------------
def sheet_title(title: str) -> str:
    """A worksheet name Excel accepts: 31 characters at most, none of ``[]:*?/\\``."""
    return " ".join(title.translate(_SHEET_TITLE_FORBIDDEN).split())[:31] or "Sheet1"


def xlsx_value(ws: Any, value: Any, *, yes: str = "true", no: str = "false") -> Any:
    """One value as an XLSX cell (or a plain value openpyxl types by itself)."""
    if isinstance(value, bool):
        value = yes if value else no
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        cell = WriteOnlyCell(ws, value=paris(value))
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, dt.date):  # a day: midnight, shown as a date (Excel stores both as a number)
        cell = WriteOnlyCell(ws, value=dt.datetime.combine(value, dt.time()))
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value[:1] in FORMULA_STARTS or value in ERROR_CODES:
            # openpyxl would store "=..." as a formula and "#N/A" as an error: force text.
            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"
            return cell
    return value


def _xlsx(rows: Iterable[Sequence[Any]], columns: list[Column], *, yes: str, no: str,
          title: str) -> Iterator[bytes]:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet_title(title))
    for index, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = min(column.width, MAX_WIDTH)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", column.header))
        cell.data_type = "s"
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for row in rows:
        ws.append([xlsx_value(ws, v, yes=yes, no=no) for v in row])
    with tempfile.TemporaryFile() as out:
        wb.save(out)
        out.seek(0)
        while chunk := out.read(CHUNK):
            yield chunk

