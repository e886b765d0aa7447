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
from syncline.scheduler.scheduler import Row
from syncline.schema.types import JSON
from syncline.state.cursors import advance, inclusive_start
from syncline.state.keys import cursor_key as table_cursor_key

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
    return table_cursor_key(CLOUDTRAIL_EVENTS.name, client.account_id, client.region)


def cloudtrail_events(
    client: AwsClient,
    parent: Row | None,
    state: StateReader,
    lag: timedelta = timedelta(0),
) -> Iterator[Item | Checkpoint]:
    """The cursor holds the newest event time and the ids of the events from ``lag`` before
    it up to it: the next sync starts ``lag`` early and skips those, so a late event is
    picked up and none is repeated."""
    key = cursor_key(client)
    saved = json.loads(state.get(key) or "null")
    cursor = datetime.fromisoformat(saved["time"]) if saved else None
    start = inclusive_start(cursor, lag) or datetime.now(UTC) - FIRST_SYNC_LOOKBACK
    seen = set(saved["ids"]) if saved else set()
    newest = cursor
    window: dict[str, datetime] = {}  # events the next sync meets again
    # LookupEvents pages newest first, so the cursor can only move once every page is read.
    for event in paginate(client.client("cloudtrail"), "lookup_events", "Events", StartTime=start):
        when: datetime = event["EventTime"].astimezone(UTC)
        if when < start:
            continue
        newest = advance(newest, when)
        if when >= newest - lag:
            window[event["EventId"]] = when
        if event["EventId"] in seen:
            continue
        raw = event.get("CloudTrailEvent")
        yield row(
            client,
            event,
            CLOUDTRAIL_EVENTS,
            event_time=when,
            cloud_trail_event=json.loads(raw) if raw else None,
        )
    if newest is None:
        return
    ids = {i for i, when in window.items() if when >= newest - lag}
    if newest == cursor:
        ids |= seen  # the window did not move: what was seen stays seen
    value = {"time": newest.isoformat(), "ids": sorted(ids)}
    if value != saved:
        yield Checkpoint(key, json.dumps(value))
