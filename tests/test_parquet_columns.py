"""coder.parquet_columns: columns replaced in a Parquet file give the bytes Arrow writes for the whole table."""

from __future__ import annotations

import pyarrow as pa
import pytest

from coder import segments
from coder.parquet_columns import replace_columns
from coder.segments import SEGMENT_PARQUET_SCHEMA, write_parquet

_REPLACED = pa.schema([SEGMENT_PARQUET_SCHEMA.field("label"), SEGMENT_PARQUET_SCHEMA.field("status")])


def _table(rows: int, *, label: str, status: str) -> pa.Table:
    columns = []
    for field in SEGMENT_PARQUET_SCHEMA:
        if field.name == "label":
            values = [f"{label} {row % 7}" if row % 3 else "" for row in range(rows)]
        elif field.name == "status":
            values = [status if row % 5 else "added" for row in range(rows)]
        elif field.name in ("page", "span_text"):
            values = [None if row % 2 else f"p{row}" for row in range(rows)]
        elif pa.types.is_integer(field.type):
            values = [row * 3 for row in range(rows)]
        else:
            values = [f"{field.name}-{row % 11}-中文" for row in range(rows)]
        columns.append(pa.array(values, type=field.type))
    return pa.Table.from_arrays(columns, schema=SEGMENT_PARQUET_SCHEMA)


@pytest.mark.parametrize("rows", [0, 1, 255, 256, 700])
def test_parquet_columns_replace_columns_writes_what_arrow_writes(tmp_path, monkeypatch, rows):
    """Labels and statuses replaced in a segments.parquet of one or several row groups: the bytes
    write_parquet writes for the new table."""
    monkeypatch.setattr(segments, "_ROW_GROUP_ROWS", 256)
    old, new = _table(rows, label="Old label", status="unchanged"), _table(rows, label="New, \"label\"", status="kept")
    write_parquet(old, tmp_path / "old.parquet")
    write_parquet(new, tmp_path / "new.parquet")
    write_parquet(new.select(_REPLACED.names), tmp_path / "columns.parquet")

    replaced = replace_columns((tmp_path / "old.parquet").read_bytes(), (tmp_path / "columns.parquet").read_bytes())

    assert replaced == (tmp_path / "new.parquet").read_bytes()


@pytest.mark.parametrize("damage", ["not parquet", "other row groups", "unknown column", "cut footer"])
def test_parquet_columns_replace_columns_refuses_what_it_does_not_expect(tmp_path, monkeypatch, damage):
    monkeypatch.setattr(segments, "_ROW_GROUP_ROWS", 256)
    write_parquet(_table(700, label="Old", status="unchanged"), tmp_path / "old.parquet")
    rows = 600 if damage == "other row groups" else 700
    columns = _table(rows, label="New", status="unchanged").select(["code" if damage == "unknown column" else "label"])
    if damage == "unknown column":
        columns = columns.rename_columns(["no_such_column"])
    write_parquet(columns, tmp_path / "columns.parquet")
    data = (tmp_path / "old.parquet").read_bytes()
    if damage == "not parquet":
        data = b"PAR1 not a table" + data[-4:]
    elif damage == "cut footer":
        data = data[:-200] + data[-8:]

    with pytest.raises(ValueError, match="^Parquet: "):
        replace_columns(data, (tmp_path / "columns.parquet").read_bytes())


def test_parquet_columns_replace_columns_meets_any_damaged_footer_with_value_error(tmp_path, monkeypatch):
    """A footer damaged anywhere (a field missing, a type changed, a count grown) is refused with
    ValueError, which the label edit answers by writing the whole table: never another exception."""
    monkeypatch.setattr(segments, "_ROW_GROUP_ROWS", 256)
    write_parquet(_table(300, label="Old", status="unchanged"), tmp_path / "old.parquet")
    write_parquet(_table(300, label="New", status="unchanged").select(["label"]), tmp_path / "columns.parquet")
    data, columns = (tmp_path / "old.parquet").read_bytes(), (tmp_path / "columns.parquet").read_bytes()
    footer_size = int.from_bytes(data[-8:-4], "little")
    footer_start = len(data) - 8 - footer_size
    random = __import__("random").Random(7)
    outcomes = set()
    for _ in range(400):
        damaged = bytearray(data)
        at = random.randrange(footer_start, len(data) - 8)
        damaged[at] = random.randrange(256)
        try:
            replace_columns(bytes(damaged), columns)
            outcomes.add("replaced")
        except ValueError:
            outcomes.add("refused")
    assert "refused" in outcomes
