"""hdh_access.lib.tabular: one table, written as a spreadsheet reads it, as CSV or XLSX."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from django.utils import translation
from openpyxl import load_workbook

from hdh_access.lib import tabular
from hdh_access.lib.tabular import Column, write_table

HOSTILE = '=HYPERLINK("http://evil.example","clic")'
SUMMER = dt.datetime(2025, 6, 18, 8, 30, tzinfo=dt.UTC)  # 10:30 in Paris
WINTER = dt.datetime(2025, 1, 6, 23, 30, tzinfo=dt.UTC)  # 00:30 on 7 January in Paris
ROW = ["HDH-2025-0001", HOSTILE, 12.5, 3, True, dt.date(2025, 3, 14), SUMMER, None, Decimal("1.25")]
COLUMNS = [Column("Référence", 16), Column("Titre", 80), "Jours", "Nombre", "Appariement", "Échéance",
           "Depuis", "Vide", "Part"]


def csv_of(rows, *, language: str) -> tuple[bytes, list[list[str]]]:
    with translation.override(language):
        data = b"".join(write_table(rows, COLUMNS, format="csv"))
    return data, list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def xlsx_of(rows, *, language: str = "fr", title: str = "Demandes"):
    with translation.override(language):
        data = b"".join(write_table(rows, COLUMNS, format="xlsx", sheet_title=title))
    return data, load_workbook(io.BytesIO(data))


def test_csv_is_utf8_with_a_bom_semicolons_crlf_and_french_numbers_and_words():
    data, rows = csv_of([ROW], language="fr")

    assert data.startswith(b"\xef\xbb\xbfR\xc3\xa9f\xc3\xa9rence;Titre;") and b"\r\n" in data
    assert rows[0] == [str(c) if isinstance(c, str) else c.header for c in COLUMNS]
    assert rows[1] == ["HDH-2025-0001", "'" + HOSTILE, "12,5", "3", "Oui", "2025-03-14", "2025-06-18 10:30", "",
                       "1,25"]


def test_csv_in_english_has_decimal_points_and_english_words():
    _data, rows = csv_of([[2.5, False]], language="en")
    assert rows[1][:2] == ["2.5", "No"]


def test_csv_instants_are_paris_wall_clock_times_whatever_the_season():
    _data, rows = csv_of([[None] * 6 + [WINTER]], language="fr")
    assert rows[1][6] == "2025-01-07 00:30"


@pytest.mark.parametrize("value", ["=1+1", "+33 1 23", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_a_csv_text_cell_a_spreadsheet_would_run_gets_an_apostrophe_a_negative_number_does_not(value):
    _data, rows = csv_of([[value, -2.5]], language="fr")
    assert rows[1][:2] == ["'" + value, "-2,5"]


def test_xlsx_has_a_bold_frozen_header_widths_and_typed_cells():
    _data, workbook = xlsx_of([ROW])
    sheet = workbook.worksheets[0]

    assert sheet.title == "Demandes" and sheet.freeze_panes == "A2"
    header = list(sheet[1])
    assert [c.value for c in header] == ["Référence", "Titre", "Jours", "Nombre", "Appariement", "Échéance", "Depuis",
                                         "Vide", "Part"]
    assert all(c.font.bold for c in header)
    assert sheet.column_dimensions["A"].width == 16 and sheet.column_dimensions["B"].width == tabular.MAX_WIDTH
    assert sheet.column_dimensions["C"].width == 16  # the default
    ref, title, days, count, matching, due, since, empty, share = sheet[2]
    assert (days.value, days.data_type) == (12.5, "n") and (count.value, count.data_type) == (3, "n")
    assert (share.value, share.data_type) == (1.25, "n")
    assert matching.value == "Oui" and empty.value is None
    assert due.is_date and due.value == dt.datetime(2025, 3, 14) and due.number_format == tabular.DATE_FORMAT
    assert since.is_date and since.value == dt.datetime(2025, 6, 18, 10, 30)  # Paris time, no zone in Excel
    assert since.number_format == tabular.DATETIME_FORMAT
    assert (title.value, title.data_type) == (HOSTILE, "s") and ref.value == "HDH-2025-0001"


@pytest.mark.parametrize("value", [HOSTILE, "=1", "+1", "-1", "@A1", "#N/A", "#DIV/0!"])
def test_an_xlsx_text_that_looks_like_a_formula_or_an_error_is_stored_as_text(value):
    data, workbook = xlsx_of([[value]])

    cell = workbook.worksheets[0]["A2"]
    assert (cell.value, cell.data_type) == (value, "s")
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml  # no formula anywhere in the file


def test_xlsx_drops_control_characters_xml_cannot_hold_and_names_its_sheet_as_excel_allows():
    _data, workbook = xlsx_of([["Cohorte\x07 AVC\x1b[2J"]], title="Délais : 2025/T2 [brouillon]*?")
    sheet = workbook.worksheets[0]
    assert sheet["A2"].value == "Cohorte AVC[2J"
    assert sheet.title == "Délais 2025 T2 brouillon" and len(tabular.sheet_title("x" * 40)) == 31


def test_xlsx_is_written_row_by_row_from_a_generator():
    read = []

    def rows():
        for n in range(5000):
            read.append(n)
            yield [f"HDH-2025-{n:04d}", "titre", n / 3, n, n % 2 == 0, dt.date(2025, 1, 1), SUMMER, None, None]

    chunks = write_table(rows(), COLUMNS, format="xlsx")
    assert read == []  # nothing is read before the file is
    data = b"".join(chunks)
    assert read == list(range(5000))
    last = list(load_workbook(io.BytesIO(data), read_only=True).worksheets[0].iter_rows(values_only=True))[-1]
    assert last[:2] == ("HDH-2025-4999", "titre") and last[3] == 4999


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="ods"):
        write_table([], COLUMNS, format="ods")


def test_the_download_is_an_attachment_of_the_right_type():
    response = tabular.download([ROW], COLUMNS, format="xlsx", filename="instruction-2025-06-18")
    assert response["Content-Type"] == tabular.CONTENT_TYPES["xlsx"]
    assert response["Content-Disposition"] == 'attachment; filename="instruction-2025-06-18.xlsx"'
