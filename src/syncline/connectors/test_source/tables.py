"""Tables of the ``test`` source and their deterministic, vectorised data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from syncline.schema.arrays import from_numpy, utf8_scalar
from syncline.schema.internal import with_cq_id_columns
from syncline.schema.table import Column, Table
from syncline.schema.types import JSON, UUID

# pyarrow.compute is imported where it is used: it is slow to load (about 0.1 s), and a sync
# that finds nothing new needs none of it.

SOME_TABLE = "test_some_table"
SUB_TABLE = "test_sub_table"
INCREMENTAL_TABLE = "test_incremental_table"

_BASE_TIME_US = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
_BASE_DATE = 19_723  # 2024-01-01 in days since the epoch


def _table_defs() -> list[Table]:
    sub = Table(
        name=SUB_TABLE,
        description="Child rows of test_some_table (num_sub_rows per parent row).",
        parent=SOME_TABLE,
        columns=(
            Column("client_id", pa.int64(), "Client the parent row came from", primary_key=True),
            Column("parent_id", pa.int64(), "id of the parent row", primary_key=True),
            Column("sub_id", pa.int64(), "1-based position under the parent", primary_key=True),
            Column("value", pa.utf8(), "Deterministic text"),
        ),
    )
    some = Table(
        name=SOME_TABLE,
        description="Deterministic rows with one column of each common Arrow type.",
        relations=(sub,),
        columns=(
            Column(
                "client_id", pa.int64(), "Client (0-based) that produced the row", primary_key=True
            ),
            Column("id", pa.int64(), "1-based row number within the client", primary_key=True),
            Column("int8_col", pa.int8()),
            Column("int16_col", pa.int16()),
            Column("int32_col", pa.int32()),
            Column("int64_col", pa.int64()),
            Column("uint32_col", pa.uint32()),
            Column("float64_col", pa.float64()),
            Column("bool_col", pa.bool_()),
            Column("string_col", pa.utf8()),
            Column("timestamp_col", pa.timestamp("us", tz="UTC")),
            Column("date_col", pa.date32()),
            Column("binary_col", pa.binary()),
            Column("json_col", JSON),
            Column("uuid_col", UUID),
            Column("list_col", pa.list_(pa.int64())),
        ),
    )
    incremental = Table(
        name=INCREMENTAL_TABLE,
        description=(
            "An append-only event log. Event i (1-based) exists when i <= num_events; "
            "the cursor is the last event id synced."
        ),
        is_incremental=True,
        columns=(
            Column(
                "client_id",
                pa.int64(),
                "Client (0-based) that produced the event",
                primary_key=True,
            ),
            Column(
                "id", pa.int64(), "Event number, 1-based", primary_key=True, incremental_key=True
            ),
            Column("event_time", pa.timestamp("us", tz="UTC"), "2024-01-01 plus id seconds"),
            Column("payload", pa.utf8()),
        ),
    )
    return [with_cq_id_columns(some), with_cq_id_columns(incremental)]


TABLES = _table_defs()
_EMPTY = utf8_scalar("")


def _strings(prefix: str, client: int, ids: np.ndarray) -> pa.Array:
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(
        utf8_scalar(f"{prefix}-{client}-"), from_numpy(ids).cast(pa.utf8()), _EMPTY
    )


def _uuids(client: int, ids: np.ndarray) -> pa.Array:
    raw = np.zeros((len(ids), 16), dtype=np.uint8)
    raw[:, 0:8] = np.frombuffer(np.full(len(ids), client, dtype=">u8").tobytes(), np.uint8).reshape(
        -1, 8
    )
    raw[:, 8:16] = np.frombuffer(ids.astype(">u8").tobytes(), np.uint8).reshape(-1, 8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x80  # version 8: custom, deterministic
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    storage = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), len(ids), [None, pa.py_buffer(raw.tobytes())]
    )
    return pa.ExtensionArray.from_storage(UUID, storage)


def some_table_batch(client: int, start: int, stop: int) -> pa.RecordBatch:
    """Rows with ids in [start, stop) for one client."""
    import pyarrow.compute as pc

    ids = np.arange(start, stop, dtype=np.int64)
    n = len(ids)
    json_text = pc.binary_join_element_wise(
        utf8_scalar('{"id":'),
        from_numpy(ids).cast(pa.utf8()),
        utf8_scalar(f',"client":{client}}}'),
        _EMPTY,
    )
    list_values = np.empty(2 * n, dtype=np.int64)
    list_values[0::2] = ids
    list_values[1::2] = ids + 1
    binary = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(8), n, [None, pa.py_buffer(ids.astype(">i8").tobytes())]
    ).cast(pa.binary())
    return pa.RecordBatch.from_pydict(
        {
            "client_id": from_numpy(np.full(n, client, dtype=np.int64)),
            "id": from_numpy(ids),
            "int8_col": from_numpy((ids % 128).astype(np.int8)),
            "int16_col": from_numpy((ids % 32768).astype(np.int16)),
            "int32_col": from_numpy((ids % 2_147_483_648).astype(np.int32)),
            "int64_col": from_numpy(ids * 1000),
            "uint32_col": from_numpy((ids % 4_294_967_296).astype(np.uint32)),
            "float64_col": from_numpy(ids * 0.5),
            "bool_col": from_numpy(ids % 2 == 0),
            "string_col": _strings("row", client, ids),
            "timestamp_col": from_numpy(
                _BASE_TIME_US + ids * 1_000_000, pa.timestamp("us", tz="UTC")
            ),
            "date_col": from_numpy((_BASE_DATE + ids % 3650).astype(np.int32), pa.date32()),
            "binary_col": binary,
            "json_col": pa.ExtensionArray.from_storage(JSON, json_text.cast(pa.binary())),
            "uuid_col": _uuids(client, ids),
            "list_col": pa.ListArray.from_arrays(
                from_numpy(np.arange(0, 2 * n + 1, 2, dtype=np.int32)), from_numpy(list_values)
            ),
        }
    )


def sub_rows(parent: dict[str, object], num_sub_rows: int) -> Iterator[dict[str, object]]:
    for i in range(1, num_sub_rows + 1):
        yield {
            "client_id": parent["client_id"],
            "parent_id": parent["id"],
            "sub_id": i,
            "value": f"sub-{parent['client_id']}-{parent['id']}-{i}",
        }


def events_batch(client: int, start: int, stop: int) -> pa.RecordBatch:
    ids = np.arange(start, stop, dtype=np.int64)
    return pa.RecordBatch.from_pydict(
        {
            "client_id": from_numpy(np.full(len(ids), client, dtype=np.int64)),
            "id": from_numpy(ids),
            "event_time": from_numpy(_BASE_TIME_US + ids * 1_000_000, pa.timestamp("us", tz="UTC")),
            "payload": _strings("event", client, ids),
        }
    )
