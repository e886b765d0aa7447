"""``_cq_id`` under ``deterministic_cq_id`` is the value CloudQuery's plugin SDK computes.

The expected ids are built here row by row, straight from the SDK's definition: SHA-256 over
each key column's name and its value's text form (columns in name order), then a
version-5 UUID (SHA-1) with the nil namespace and the 32-byte digest as its name.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import UTC, date, datetime

import pyarrow as pa

from syncline.schema.cq_id import deterministic_cq_ids, key_text
from syncline.schema.types import JSON, UUID


def sdk_cq_id(parts: list[tuple[str, str]]) -> uuid.UUID:
    digest = hashlib.sha256()
    for name, text in sorted(parts):
        digest.update(name.encode())
        digest.update(text.encode())
    raw = bytearray(hashlib.sha1(bytes(16) + digest.digest()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50
    raw[8] = (raw[8] & 0x3F) | 0x80
    return uuid.UUID(bytes=bytes(raw))


def ids(record: pa.RecordBatch, keys: list[str]) -> list[uuid.UUID]:
    return [uuid.UUID(bytes=b) for b in deterministic_cq_ids(record, keys).storage.to_pylist()]


U1 = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
U2 = uuid.UUID("00000000-0000-4000-8000-0000000000ff")


def test_known_value_from_the_definition():
    # One value worked through by hand: name "id", text "1".
    record = pa.record_batch({"id": pa.array([1], pa.int64())})
    digest = hashlib.sha256(b"id1").digest()
    expected = uuid.UUID(bytes=hashlib.sha1(bytes(16) + digest).digest()[:16])
    expected = uuid.UUID(int=(expected.int & ~(0xF << 76)) | (5 << 76))
    expected = uuid.UUID(int=(expected.int & ~(0x3 << 62)) | (0x2 << 62))
    assert ids(record, ["id"]) == [expected]
    assert expected.version == 5


def test_text_forms_of_each_type():
    cases = [
        (pa.array(["a", "", None], pa.utf8()), ["a", "", "(null)"]),
        (pa.array([0, -42, 2**62], pa.int64()), ["0", "-42", str(2**62)]),
        (pa.array([7, None], pa.int32()), ["7", "(null)"]),
        (pa.array([2**64 - 1], pa.uint64()), [str(2**64 - 1)]),
        (pa.array([True, False]), ["true", "false"]),
        (pa.array([1.5, 0.1, 1e21, 2.0], pa.float64()), ["1.5", "0.1", "1" + "0" * 21, "2"]),
        (
            pa.array(
                [
                    datetime(2024, 1, 2, 3, 4, 5, 999999, tzinfo=UTC),
                    datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
                ],
                pa.timestamp("us", "UTC"),
            ),
            ["2024-01-02T03:04:05Z", "1969-12-31T23:59:59Z"],
        ),
        (pa.array([datetime(2024, 1, 2, 3, 4, 5)], pa.timestamp("ns")), ["2024-01-02T03:04:05Z"]),
        (pa.array([date(2024, 2, 29)], pa.date32()), ["2024-02-29"]),
        (
            pa.ExtensionArray.from_storage(
                UUID, pa.array([U1.bytes, None, U2.bytes], pa.binary(16))
            ),
            [str(U1), "(null)", str(U2)],
        ),
        (
            pa.ExtensionArray.from_storage(JSON, pa.array([b'{"b": 1, "a": [1, 2]}', b"[]"])),
            ['{"b": 1, "a": [1, 2]}', "[]"],
        ),
        (
            pa.array([["x", "y"], [], None, ["z", None]], pa.list_(pa.utf8())),
            ["[x, y]", "[]", "(null)", "[z, (null)]"],
        ),
        (pa.array([[1, 2], [3]], pa.list_(pa.int64())), ["[1, 2]", "[3]"]),
    ]
    for arr, expected in cases:
        assert [b.decode() for b in key_text(arr).to_pylist()] == expected, arr.type


def test_ids_match_the_sdk_for_several_key_types():
    when = [datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC), datetime(2001, 1, 1, tzinfo=UTC)]
    docs = [json.dumps({"k": [1, "two"]}).encode(), b"null"]
    record = pa.record_batch(
        {
            "name": pa.array(["alpha", "beta"]),
            "id": pa.array([10, -3], pa.int64()),
            "at": pa.array(when, pa.timestamp("us", "UTC")),
            "ref": pa.ExtensionArray.from_storage(
                UUID, pa.array([U1.bytes, U2.bytes], pa.binary(16))
            ),
            "doc": pa.ExtensionArray.from_storage(JSON, pa.array(docs)),
            "tags": pa.array([["a", "b"], []], pa.list_(pa.utf8())),
        }
    )
    texts = {
        "name": ["alpha", "beta"],
        "id": ["10", "-3"],
        "at": ["2024-05-06T07:08:09Z", "2001-01-01T00:00:00Z"],
        "ref": [str(U1), str(U2)],
        "doc": [d.decode() for d in docs],
        "tags": ["[a, b]", "[]"],
    }
    for keys in (["name"], ["id"], ["at"], ["ref"], ["doc"], ["tags"], list(texts)):
        expected = [sdk_cq_id([(k, texts[k][i]) for k in keys]) for i in range(2)]
        assert ids(record, keys) == expected, keys
    # name order, not the order given, decides
    assert ids(record, ["tags", "id"]) == ids(record, ["id", "tags"])
    # the same value under another column name is another id
    assert ids(record, ["id"]) != ids(
        record.rename_columns(["name", "idx", "at", "ref", "doc", "tags"]), ["idx"]
    )


def test_a_sliced_batch_gives_the_same_ids():
    record = pa.record_batch(
        {
            "ref": pa.ExtensionArray.from_storage(
                UUID, pa.array([uuid.UUID(int=i).bytes for i in range(10)], pa.binary(16))
            ),
            "tags": pa.array([[str(i)] * (i % 3) for i in range(10)], pa.list_(pa.utf8())),
        }
    )
    assert ids(record.slice(4, 3), ["ref", "tags"]) == ids(record, ["ref", "tags"])[4:7]


def test_whole_batch_cost(capsys):
    """Measured, not asserted on: 200,000 rows with a two-column key."""
    n = 200_000
    record = pa.record_batch(
        {"client_id": pa.array(["c"] * n), "id": pa.array(range(n), pa.int64())}
    )
    started = time.perf_counter()
    out = deterministic_cq_ids(record, ["client_id", "id"])
    elapsed = time.perf_counter() - started
    assert len(out) == n and len(set(out.storage.slice(0, 1000).to_pylist())) == 1000
    with capsys.disabled():
        print(f"\n_cq_id for {n:,} rows: {elapsed:.2f}s ({n / elapsed:,.0f} rows/s)")
