"""Parsing the operator's inventory CSV (router.inventory_csv)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from router.inventory_csv import ImportSummary, InventoryRow, Rejected, batched, parse_inventory


def parse(text: str) -> list[InventoryRow | Rejected]:
    """Parse `text` as a whole inventory file."""
    return list(parse_inventory(io.StringIO(text)))


def only_rejection(text: str) -> Rejected:
    """Parse a one-row file that must be rejected."""
    [result] = parse(text)
    assert isinstance(result, Rejected)
    return result


def test_positional_row_without_header() -> None:
    """Without a header, columns are number, type, area code, country."""
    assert parse("+15105555555,local,510,US\n") == [
        InventoryRow("+15105555555", "local", "510", "US")
    ]


@pytest.mark.parametrize(
    ("line", "row"),
    [
        ("+15105550004,local,510,US", InventoryRow("+15105550004", "local", "510", "US")),
        ("+18005550100,tollfree,800,US", InventoryRow("+18005550100", "tollfree", "800", "US")),
        ("+442079460000,local,20,GB", InventoryRow("+442079460000", "local", "20", "GB")),
        # No area code phonenumbers knows: a leading part of the national number passes.
        ("+447700900123,mobile,7700,GB", InventoryRow("+447700900123", "mobile", "7700", "GB")),
    ],
)
def test_area_code_of_the_number_is_accepted(line: str, row: InventoryRow) -> None:
    assert parse(line + "\n") == [row]


def test_header_names_columns_in_any_order() -> None:
    """A header row is detected and maps columns by name, aliases included."""
    text = "ISO_Country,Area Code,Number_Type,Phone_Number\nus,415,TollFree,+14155555555\n"
    assert parse(text) == [InventoryRow("+14155555555", "tollfree", "415", "US")]


def test_header_with_unknown_column_ignores_it() -> None:
    """Columns the header does not recognise are skipped."""
    text = "number,type,carrier\n+15105555555,mobile,acme\n"
    assert parse(text) == [InventoryRow("+15105555555", "mobile", "510", "US")]


def test_header_without_number_column_rejects_the_file() -> None:
    """A header lacking number or type is one rejection and nothing more is read."""
    [rejected] = parse("type,country\nlocal,US\n+15105555555,local\n")
    assert isinstance(rejected, Rejected)
    assert rejected.line == 1
    assert "number" in rejected.reason


def test_three_column_rows_derive_the_country() -> None:
    """A row without country takes the number's country."""
    assert parse("+442071838750,local,20\n") == [InventoryRow("+442071838750", "local", "20", "GB")]


def test_two_column_rows_derive_area_code_and_country() -> None:
    """A row with only number and type derives area code and country."""
    assert parse("+15105555555,local\n") == [InventoryRow("+15105555555", "local", "510", "US")]


def test_number_without_area_code_keeps_it_empty() -> None:
    """A number with no geographic area code gets an empty one."""
    assert parse("+447911123456,mobile,,GB\n") == [
        InventoryRow("+447911123456", "mobile", "", "GB")
    ]


def test_numbers_are_stored_in_canonical_form() -> None:
    """A number given with a stray national prefix is stored canonically."""
    [row] = parse("+4402071838750,local,,GB\n")
    assert isinstance(row, InventoryRow)
    assert row.phone_number == "+442071838750"


def test_blank_lines_and_whitespace_are_ignored() -> None:
    """Blank and all-empty lines are skipped and cells are trimmed, lines still counted."""
    results = parse("\n  \n,,,\n +15105555555 , local ,,\nnope,local\n")
    assert results[0] == InventoryRow("+15105555555", "local", "510", "US")
    assert isinstance(results[1], Rejected)
    assert results[1].line == 5


def test_byte_order_mark_before_header_is_ignored() -> None:
    """A UTF-8 BOM at the start does not hide the header."""
    assert parse("\ufeffnumber,type\n+15105555555,local\n") == [
        InventoryRow("+15105555555", "local", "510", "US")
    ]


def test_byte_order_mark_before_data_is_ignored() -> None:
    """A UTF-8 BOM at the start does not spoil the first number."""
    assert parse("\ufeff+15105555555,local\n") == [
        InventoryRow("+15105555555", "local", "510", "US")
    ]


def test_crlf_line_endings() -> None:
    """Files written on Windows parse the same."""
    assert parse("number,type\r\n+15105555555,local\r\n") == [
        InventoryRow("+15105555555", "local", "510", "US")
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("15105555555,local", "Invalid number: must be an E.164 number such as +15105555555."),
        ("+1510,local", "Invalid number: must be an E.164 number such as +15105555555."),
        ("+15105555555,landline", "Invalid type: must be one of local, tollfree, mobile."),
        ("+15105555555,", "Invalid type: must be one of local, tollfree, mobile."),
        ("+15105555555,local,51a", "Invalid area code: must be at most 8 digits."),
        (
            "+15105555555,local,,USA",
            "Invalid country: must be an ISO 3166 alpha-2 code such as US.",
        ),
        ("+15105555555,local,,1", "Invalid country: must be an ISO 3166 alpha-2 code such as US."),
        ("+15105555555,local,,GB", "Invalid country: GB does not match +15105555555."),
        ("+15105555555,local,,XX", "Invalid country: XX does not match +15105555555."),
        ("+80012345678,tollfree", "Invalid country: cannot be derived from +80012345678; give it."),
        ("+15105555555,local,510,US,extra", "5 fields, expected at most 4"),
        (
            "+15105550004,local,999,US",
            "Invalid area code: 999 is not the area code of +15105550004; its area code is 510.",
        ),
        (
            "+15105550004,local,51,US",
            "Invalid area code: 51 is not the area code of +15105550004; its area code is 510.",
        ),
        (
            "+442079460000,local,21,GB",
            "Invalid area code: 21 is not the area code of +442079460000; its area code is 20.",
        ),
        (
            "+447700900123,mobile,78,GB",
            "Invalid area code: 78 is not the area code of +447700900123.",
        ),
    ],
)
def test_bad_rows_are_rejected_with_a_reason(line: str, reason: str) -> None:
    """Each kind of bad row is rejected with its line, text and reason."""
    assert only_rejection(line + "\n") == Rejected(1, line, reason)


def test_row_longer_than_header_is_rejected() -> None:
    """With a header, a row with more fields than it is rejected."""
    [rejected] = parse("number,type\n+15105555555,local,510\n")
    assert rejected == Rejected(2, "+15105555555,local,510", "3 fields, expected at most 2")


def test_non_geographic_number_with_country_is_accepted() -> None:
    """A country given for a +800 number is taken as is, having no country to check against."""
    assert parse("+80012345678,tollfree,,us\n") == [
        InventoryRow("+80012345678", "tollfree", "", "US")
    ]


def test_country_sharing_the_calling_code_is_accepted() -> None:
    """A country that dials the number's calling code is trusted over range metadata."""
    assert parse("+15105555555,local,,ca\n") == [InventoryRow("+15105555555", "local", "510", "CA")]


def test_duplicates_within_the_file_are_rejected() -> None:
    """A number already accepted earlier, in any spelling, is rejected as a duplicate."""
    results = parse("+442071838750,local\n+442071838750,mobile\n+4402071838750,local\n")
    assert isinstance(results[0], InventoryRow)
    assert results[1:] == [
        Rejected(2, "+442071838750,mobile", "duplicate in file"),
        Rejected(3, "+4402071838750,local", "duplicate in file"),
    ]


def test_rejected_row_does_not_block_a_later_good_one() -> None:
    """Only accepted rows count for duplicates."""
    results = parse("+15105555555,landline\n+15105555555,local\n")
    assert isinstance(results[0], Rejected)
    assert results[1] == InventoryRow("+15105555555", "local", "510", "US")


def test_oversized_field_is_rejected_and_parsing_goes_on() -> None:
    """A field over the csv module's limit is one rejection, not a crash."""
    huge = '"' + "9" * 200_000 + '",local\n'
    results = parse(huge + "+15105555555,local\n")
    assert isinstance(results[0], Rejected)
    assert results[0].reason.startswith("unreadable CSV")
    assert len(results[0].raw) <= 200
    assert results[1] == InventoryRow("+15105555555", "local", "510", "US")


def test_parsing_streams() -> None:
    """Rows come out before the input is exhausted."""

    def lines() -> Iterator[str]:
        yield "+15105555555,local\n"
        raise AssertionError("read past the first row")

    results = parse_inventory(lines())
    assert next(results) == InventoryRow("+15105555555", "local", "510", "US")


def test_summary_render_lists_rejections_with_line_numbers() -> None:
    """The summary shows counts, then up to twenty reasons, then how many more."""
    summary = ImportSummary(inserted=5, already_present=2)
    for line in range(1, 26):
        summary.reject(Rejected(line, f"row{line}", "duplicate in file"))
    rendered = summary.render().splitlines()
    assert rendered[0] == "inserted: 5, already present: 2, rejected: 25"
    assert rendered[1] == "  line 1: duplicate in file [row1]"
    assert len(rendered) == 1 + 20 + 1
    assert rendered[-1] == "  ... and 5 more"


def test_summary_render_without_rejections() -> None:
    """A clean import renders as a single line of counts."""
    assert ImportSummary(inserted=3).render() == "inserted: 3, already present: 0, rejected: 0"


def test_summary_keeps_a_bounded_number_of_rejections() -> None:
    """Past a thousand, rejections are counted rather than kept."""
    summary = ImportSummary()
    for line in range(1, 1501):
        summary.reject(Rejected(line, "", "x"))
    assert len(summary.rejected) == 1000
    assert summary.rejected_count == 1500
    assert summary.render().endswith("... and 1480 more")


def test_batched_groups_items() -> None:
    """Items come in tuples of the given size, the last one shorter."""
    assert list(batched(range(5), 2)) == [(0, 1), (2, 3), (4,)]
    assert list(batched([], 3)) == []


def test_batched_refuses_a_size_below_one() -> None:
    """A batch size below one is a programming error."""
    with pytest.raises(ValueError, match="at least 1"):
        list(batched([1], 0))
