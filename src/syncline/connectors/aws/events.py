"""``aws_cloudtrail_events``: CloudTrail management events, synced incrementally."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from syncline.connectors.aws.clients import AwsClient
from syncline.connectors.aws.handwritten import Item, paginate, row, table
from syncline.messages import Checkpoint
from syncline.plugin.contracts import StateReader
from syncline.schema.types import JSON

TS = pa.timestamp("us", tz="UTC")

# -- CloudTrail events (incremental) ---------------------------------------------------------

CLOUDTRAIL_EVENTS = table(
    "aws_cloudtrail_events",
    "CloudTrail management events (LookupEvents). Incremental: the cursor is the newest "
    "event time per account and region; the next sync starts there (inclusive) and skips the "
    "events at that time it already has.",
    [
        ("event_id", pa.utf8()),
        ("event_name", pa.utf8()),
        ("event_time", TS),
        ("event_source", pa.utf8()),
        ("username", pa.utf8()),
        ("read_only", pa.utf8()),
        ("access_key_id", pa.utf8()),
        ("resources", JSON),
        ("cloud_trail_event", JSON),
    ],
    pk=("account_id", "region", "event_id"),
    incremental_key="event_time",
)
# How far back a first sync looks (LookupEvents keeps 90 days).
FIRST_SYNC_LOOKBACK = timedelta(days=90)


def cursor_key(client: AwsClient) -> str:
    return f"aws_cloudtrail_events/{client.account_id}/{client.region}"


def cloudtrail_events(client: AwsClient, state: StateReader) -> Iterator[Item | Checkpoint]:
    key = cursor_key(client)
    saved = json.loads(state.get(key) or "null")
    start = (
        datetime.fromisoformat(saved["time"]) if saved else datetime.now(UTC) - FIRST_SYNC_LOOKBACK
    )
    seen_at_start = set(saved["ids"]) if saved else set()
    newest: datetime | None = None
    ids_at_newest: set[str] = set()
    # LookupEvents pages newest first, so the cursor can only move once every page is read.
    for event in paginate(client.client("cloudtrail"), "lookup_events", "Events", StartTime=start):
        when: datetime = event["EventTime"].astimezone(UTC)
        if when < start or (when == start and event["EventId"] in seen_at_start):
            continue
        if newest is None or when > newest:
            newest, ids_at_newest = when, {event["EventId"]}
        elif when == newest:
            ids_at_newest.add(event["EventId"])
        raw = event.get("CloudTrailEvent")
        yield row(
            client,
            event,
            CLOUDTRAIL_EVENTS,
            event_time=when,
            cloud_trail_event=json.loads(raw) if raw else None,
        )
    if newest is not None:
        if saved and newest == start:
            ids_at_newest |= seen_at_start
        value = {"time": newest.isoformat(), "ids": sorted(ids_at_newest)}
        yield Checkpoint(key, json.dumps(value))
