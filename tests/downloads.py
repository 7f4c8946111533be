"""Read the files the pages give (hdh_access.lib.tabular) as a spreadsheet would."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

BOM = b"\xef\xbb\xbf"


def body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def csv_rows(response) -> list[list[str]]:
    """The rows of a downloaded CSV: it must start with a BOM and separate cells with ``;``."""
    data = body(response)
    assert data.startswith(BOM), data[:20]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(data[len(BOM):].decode("utf-8"), newline=""), delimiter=";"))


def csv_dicts(response) -> list[dict[str, str]]:
    header, *rows = csv_rows(response)
    return [dict(zip(header, row, strict=True)) for row in rows]


def xlsx_sheet(response):
    """The first worksheet of a downloaded XLSX (openpyxl, cells with their types)."""
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return load_workbook(io.BytesIO(body(response))).worksheets[0]


def xlsx_dicts(sheet) -> list[dict]:
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]
