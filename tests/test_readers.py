import io
from decimal import Decimal

import pytest

from meterlib.metering.readers import detect_format, line_text, read_csv, read_jsonl, read_lines

EVENT = '{"id": "e1", "customer": "c", "type": "t", "time": "2024-01-01T00:00:00Z"'


def test_json_lines_read_numbers_as_decimals_and_report_bad_lines():
    data = (
        f'{EVENT}, "properties": {{"qty": 1.50, "n": 3, "s": "x"}}}}\n'
        "\n"
        "   \n"
        "{not json\n"
        "[1, 2]\n"
        f'{EVENT}, "properties": {{"qty": NaN}}}}\n'
    ).encode() + b"\xff\xfe\n"
    lines = list(read_jsonl(io.BytesIO(data)))
    assert [(n, event is not None) for n, _, event, _ in lines] == [
        (1, True),
        (4, False),
        (5, False),
        (6, False),
        (7, False),
    ]
    _, raw, event, problem = lines[0]
    assert problem is None
    assert event is not None
    assert event["properties"] == {"qty": Decimal("1.50"), "n": 3, "s": "x"}
    assert type(event["properties"]["qty"]) is Decimal
    assert line_text(raw).startswith('{"id": "e1"')
    assert lines[1][3] is not None
    assert lines[1][3].startswith("line 4: not valid JSON")
    assert lines[1][1] == "{not json"
    assert lines[2][3] == "line 5: expected a JSON object (one event), got a JSON array"
    assert "NaN is not a number meterlib accepts" in str(lines[3][3])
    assert str(lines[4][3]).startswith("line 7: not valid JSON")


def test_json_lines_from_text():
    [(number, _, event, problem)] = list(read_jsonl([f'{EVENT}, "properties": {{}}}}']))
    assert (number, problem) == (1, None)
    assert event is not None
    assert event["id"] == "e1"


def test_csv_with_property_columns_and_a_json_properties_column():
    data = (
        "\ufeffid,customer,type,time,properties.qty,properties.region,properties\n"
        'e1,c,t,2024-01-01T00:00:00Z,5,eu,"{""extra"": 1.5}"\n'
        "e2,c,t,2024-01-01T00:00:00Z,,us,\n"
        "\n"
        'e3,c,t,2024-01-01T00:00:00Z,1,eu,"{""qty"": 2}"\n'
        "e4,c,t,2024-01-01T00:00:00Z,1,eu\n"
        'e5,c,t,2024-01-01T00:00:00Z,1,eu,"[1]"\n'
        'e6,c,t,2024-01-01T00:00:00Z,1,eu,"{oops"\n'
    ).encode()
    lines = list(read_csv(io.BytesIO(data)))
    events = {n: e for n, _, e, _ in lines if e is not None}
    problems = {n: p for n, _, _, p in lines if p is not None}
    assert events[2] == {
        "id": "e1",
        "customer": "c",
        "type": "t",
        "time": "2024-01-01T00:00:00Z",
        "properties": {"qty": "5", "region": "eu", "extra": Decimal("1.5")},
    }
    assert events[3]["properties"] == {"region": "us"}  # an empty cell is no property
    assert problems == {
        5: "line 5: property 'qty' is given twice",
        6: "line 6: 6 cells where the header has 7 columns",
        7: "line 7: the 'properties' cell must be a JSON object (got a JSON array)",
        8: "line 8: the 'properties' cell is not valid JSON: "
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
    }
    assert [row for n, row, _, _ in lines if n == 6] == [
        {
            "id": "e4",
            "customer": "c",
            "type": "t",
            "time": "2024-01-01T00:00:00Z",
            "properties.qty": "1",
            "properties.region": "eu",
        }
    ]


def test_csv_keeps_unknown_columns_so_validation_names_them():
    lines = list(read_csv(["id,customer,type,time,qty\n", "e1,c,t,2024-01-01T00:00:00Z,5\n"]))
    [(_, _, event, _)] = lines
    assert event is not None
    assert event["qty"] == "5"


def test_empty_csv_reads_nothing():
    assert list(read_csv(io.BytesIO(b""))) == []


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.csv", "csv"),
        ("A.CSV", "csv"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("-", "jsonl"),
    ],
)
def test_detect_format(name, fmt):
    assert detect_format(name) == fmt


def test_read_lines_refuses_unknown_formats():
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        read_lines(io.BytesIO(b""), "xml")  # type: ignore[arg-type]


def test_jsonl_lines_with_surrounding_space_or_trailing_data():
    lines = [b' {"a": 1.5}\n', b'{"a": 2}\r\n', b'{"a": 3} \t\n', b'{"a": 4} x\n', b"{}{}\n"]
    found = list(read_jsonl(lines))
    assert [row[2] for row in found[:3]] == [{"a": Decimal("1.5")}, {"a": 2}, {"a": 3}]
    for _, _, data, problem in found[3:]:
        assert data is None
        assert "Extra data" in (problem or "")
