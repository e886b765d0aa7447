"""Tables of the AWS source: CloudQuery's names, snake_case columns of the API's fields,
``account_id`` and ``region`` on every row, ``arn`` as primary key where there is one."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from botocore.exceptions import ClientError

from syncline.connectors.aws.clients import AwsClient
from syncline.messages import Checkpoint
from syncline.plugin.contracts import StateReader
from syncline.schema.internal import with_cq_id_columns
from syncline.schema.table import Column, Table
from syncline.schema.types import JSON

TS = pa.timestamp("us", tz="UTC")
Item = dict[str, Any]


def pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def tags_dict(tags: Any) -> dict[str, str] | None:
    if tags is None:
        return None
    if isinstance(tags, dict):
        return tags
    return {t["Key"]: t["Value"] for t in tags}


@dataclass(frozen=True)
class AwsTable:
    table: Table
    resolve: Callable[[AwsClient, StateReader], Iterable[Item | Checkpoint]]


def _table(
    name: str,
    description: str,
    columns: list[tuple[str, pa.DataType]],
    *,
    pk: str = "arn",
    incremental: bool = False,
) -> Table:
    cols = [
        Column("account_id", pa.utf8(), "AWS account id"),
        Column("region", pa.utf8(), "AWS region"),
    ]
    for col, t in columns:
        cols.append(
            Column(
                col,
                t,
                primary_key=col == pk,
                not_null=col == pk,
                incremental_key=incremental and col == "event_time",
            )
        )
    return with_cq_id_columns(
        Table(name, tuple(cols), description=description, is_incremental=incremental)
    )


def _row(
    client: AwsClient, item: Item, table: Table, region: str | None = None, **extra: Any
) -> Item:
    """Columns filled from the item's PascalCase fields, plus account, region and ``extra``."""
    row: Item = {"account_id": client.account_id, "region": region or client.region}
    for c in table.columns:
        if c.name in row or c.name.startswith("_cq_"):
            continue
        value = extra[c.name] if c.name in extra else item.get(pascal(c.name))
        if c.name == "tags":
            value = tags_dict(value)
        row[c.name] = value
    return row


def _paginate(client: Any, op: str, key: str, **kwargs: Any) -> Iterator[Item]:
    if client.can_paginate(op):
        for page in client.get_paginator(op).paginate(**kwargs):
            yield from page.get(key, [])
    else:
        yield from getattr(client, op)(**kwargs).get(key, [])


# -- S3 -------------------------------------------------------------------------------------

S3_BUCKETS = _table(
    "aws_s3_buckets",
    "S3 buckets with location, versioning, encryption, tags, policy and public access block.",
    [
        ("arn", pa.utf8()),
        ("name", pa.utf8()),
        ("creation_date", TS),
        ("versioning_status", pa.utf8()),
        ("versioning_mfa_delete", pa.utf8()),
        ("server_side_encryption_configuration", JSON),
        ("tags", JSON),
        ("policy", JSON),
        ("public_access_block_configuration", JSON),
    ],
)


def _optional(call: Callable[..., Any], field: str, missing: str, **kwargs: Any) -> Any:
    """``call(**kwargs)[field]``, or None when the API says the thing is not configured."""
    try:
        return call(**kwargs)[field]
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") == missing:
            return None
        raise


def s3_buckets(client: AwsClient, state: StateReader) -> Iterator[Item]:
    if not client.is_global:
        return
    s3 = client.client("s3")
    for bucket in s3.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        location = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
        regional = client.client("s3", location)
        versioning = regional.get_bucket_versioning(Bucket=name)
        policy = _optional(regional.get_bucket_policy, "Policy", "NoSuchBucketPolicy", Bucket=name)
        yield _row(
            client,
            bucket,
            S3_BUCKETS,
            region=location,
            arn=f"arn:aws:s3:::{name}",
            versioning_status=versioning.get("Status"),
            versioning_mfa_delete=versioning.get("MFADelete"),
            server_side_encryption_configuration=_optional(
                regional.get_bucket_encryption,
                "ServerSideEncryptionConfiguration",
                "ServerSideEncryptionConfigurationNotFoundError",
                Bucket=name,
            ),
            tags=_optional(regional.get_bucket_tagging, "TagSet", "NoSuchTagSet", Bucket=name),
            policy=json.loads(policy) if policy else None,
            public_access_block_configuration=_optional(
                regional.get_public_access_block,
                "PublicAccessBlockConfiguration",
                "NoSuchPublicAccessBlockConfiguration",
                Bucket=name,
            ),
        )


# -- EC2 ------------------------------------------------------------------------------------

EC2_INSTANCES = _table(
    "aws_ec2_instances",
    "EC2 instances.",
    [
        ("arn", pa.utf8()),
        ("instance_id", pa.utf8()),
        ("instance_type", pa.utf8()),
        ("image_id", pa.utf8()),
        ("launch_time", TS),
        ("state", JSON),
        ("vpc_id", pa.utf8()),
        ("subnet_id", pa.utf8()),
        ("private_ip_address", pa.utf8()),
        ("public_ip_address", pa.utf8()),
        ("security_groups", JSON),
        ("tags", JSON),
    ],
)


def ec2_instances(client: AwsClient, state: StateReader) -> Iterator[Item]:
    for reservation in _paginate(client.client("ec2"), "describe_instances", "Reservations"):
        for inst in reservation.get("Instances", []):
            arn = f"arn:aws:ec2:{client.region}:{client.account_id}:instance/{inst['InstanceId']}"
            yield _row(client, inst, EC2_INSTANCES, arn=arn)


EC2_VPCS = _table(
    "aws_ec2_vpcs",
    "EC2 VPCs.",
    [
        ("arn", pa.utf8()),
        ("vpc_id", pa.utf8()),
        ("cidr_block", pa.utf8()),
        ("state", pa.utf8()),
        ("is_default", pa.bool_()),
        ("owner_id", pa.utf8()),
        ("dhcp_options_id", pa.utf8()),
        ("tags", JSON),
    ],
)


def ec2_vpcs(client: AwsClient, state: StateReader) -> Iterator[Item]:
    for vpc in _paginate(client.client("ec2"), "describe_vpcs", "Vpcs"):
        arn = f"arn:aws:ec2:{client.region}:{client.account_id}:vpc/{vpc['VpcId']}"
        yield _row(client, vpc, EC2_VPCS, arn=arn)


EC2_SUBNETS = _table(
    "aws_ec2_subnets",
    "EC2 subnets.",
    [
        ("arn", pa.utf8()),
        ("subnet_id", pa.utf8()),
        ("vpc_id", pa.utf8()),
        ("cidr_block", pa.utf8()),
        ("availability_zone", pa.utf8()),
        ("available_ip_address_count", pa.int64()),
        ("map_public_ip_on_launch", pa.bool_()),
        ("default_for_az", pa.bool_()),
        ("state", pa.utf8()),
        ("tags", JSON),
    ],
)


def ec2_subnets(client: AwsClient, state: StateReader) -> Iterator[Item]:
    for subnet in _paginate(client.client("ec2"), "describe_subnets", "Subnets"):
        arn = subnet.get("SubnetArn") or (
            f"arn:aws:ec2:{client.region}:{client.account_id}:subnet/{subnet['SubnetId']}"
        )
        yield _row(client, subnet, EC2_SUBNETS, arn=arn)


EC2_SECURITY_GROUPS = _table(
    "aws_ec2_security_groups",
    "EC2 security groups.",
    [
        ("arn", pa.utf8()),
        ("group_id", pa.utf8()),
        ("group_name", pa.utf8()),
        ("description", pa.utf8()),
        ("vpc_id", pa.utf8()),
        ("owner_id", pa.utf8()),
        ("ip_permissions", JSON),
        ("ip_permissions_egress", JSON),
        ("tags", JSON),
    ],
)


def ec2_security_groups(client: AwsClient, state: StateReader) -> Iterator[Item]:
    for group in _paginate(client.client("ec2"), "describe_security_groups", "SecurityGroups"):
        arn = f"arn:aws:ec2:{client.region}:{client.account_id}:security-group/{group['GroupId']}"
        yield _row(client, group, EC2_SECURITY_GROUPS, arn=arn)


# -- IAM (global) ---------------------------------------------------------------------------

IAM_USERS = _table(
    "aws_iam_users",
    "IAM users (global: read once per account).",
    [
        ("arn", pa.utf8()),
        ("user_name", pa.utf8()),
        ("user_id", pa.utf8()),
        ("path", pa.utf8()),
        ("create_date", TS),
        ("password_last_used", TS),
        ("tags", JSON),
    ],
)


def iam_users(client: AwsClient, state: StateReader) -> Iterator[Item]:
    if not client.is_global:
        return
    iam = client.client("iam")
    for user in _paginate(iam, "list_users", "Users"):
        tags = iam.list_user_tags(UserName=user["UserName"]).get("Tags", [])
        yield _row(client, user, IAM_USERS, region="aws-global", tags=tags_dict(tags))


IAM_ROLES = _table(
    "aws_iam_roles",
    "IAM roles (global: read once per account).",
    [
        ("arn", pa.utf8()),
        ("role_name", pa.utf8()),
        ("role_id", pa.utf8()),
        ("path", pa.utf8()),
        ("create_date", TS),
        ("description", pa.utf8()),
        ("max_session_duration", pa.int64()),
        ("assume_role_policy_document", JSON),
    ],
)


def iam_roles(client: AwsClient, state: StateReader) -> Iterator[Item]:
    if not client.is_global:
        return
    for role in _paginate(client.client("iam"), "list_roles", "Roles"):
        doc = role.get("AssumeRolePolicyDocument")
        if isinstance(doc, str):
            from urllib.parse import unquote

            doc = json.loads(unquote(doc))
        yield _row(client, role, IAM_ROLES, region="aws-global", assume_role_policy_document=doc)


IAM_POLICIES = _table(
    "aws_iam_policies",
    "Customer-managed IAM policies (global: read once per account).",
    [
        ("arn", pa.utf8()),
        ("policy_name", pa.utf8()),
        ("policy_id", pa.utf8()),
        ("path", pa.utf8()),
        ("default_version_id", pa.utf8()),
        ("attachment_count", pa.int64()),
        ("is_attachable", pa.bool_()),
        ("create_date", TS),
        ("update_date", TS),
    ],
)


def iam_policies(client: AwsClient, state: StateReader) -> Iterator[Item]:
    if not client.is_global:
        return
    for policy in _paginate(client.client("iam"), "list_policies", "Policies", Scope="Local"):
        yield _row(client, policy, IAM_POLICIES, region="aws-global")


# -- Lambda, DynamoDB, CloudTrail, CloudWatch Logs ------------------------------------------

LAMBDA_FUNCTIONS = _table(
    "aws_lambda_functions",
    "Lambda functions.",
    [
        ("arn", pa.utf8()),
        ("function_name", pa.utf8()),
        ("runtime", pa.utf8()),
        ("role", pa.utf8()),
        ("handler", pa.utf8()),
        ("code_size", pa.int64()),
        ("description", pa.utf8()),
        ("timeout", pa.int64()),
        ("memory_size", pa.int64()),
        ("last_modified", pa.utf8()),
        ("version", pa.utf8()),
    ],
)


def lambda_functions(client: AwsClient, state: StateReader) -> Iterator[Item]:
    for fn in _paginate(client.client("lambda"), "list_functions", "Functions"):
        yield _row(client, fn, LAMBDA_FUNCTIONS, arn=fn["FunctionArn"])


DYNAMODB_TABLES = _table(
    "aws_dynamodb_tables",
    "DynamoDB tables.",
    [
        ("arn", pa.utf8()),
        ("table_name", pa.utf8()),
        ("table_status", pa.utf8()),
        ("item_count", pa.int64()),
        ("table_size_bytes", pa.int64()),
        ("creation_date_time", TS),
        ("key_schema", JSON),
        ("attribute_definitions", JSON),
        ("billing_mode_summary", JSON),
    ],
)


def dynamodb_tables(client: AwsClient, state: StateReader) -> Iterator[Item]:
    ddb = client.client("dynamodb")
    for name in _paginate(ddb, "list_tables", "TableNames"):
        desc = ddb.describe_table(TableName=name)["Table"]
        yield _row(client, desc, DYNAMODB_TABLES, arn=desc["TableArn"])


CLOUDTRAIL_TRAILS = _table(
    "aws_cloudtrail_trails",
    "CloudTrail trails (each once, in its home region).",
    [
        ("arn", pa.utf8()),
        ("name", pa.utf8()),
        ("home_region", pa.utf8()),
        ("s3_bucket_name", pa.utf8()),
        ("is_multi_region_trail", pa.bool_()),
        ("include_global_service_events", pa.bool_()),
        ("log_file_validation_enabled", pa.bool_()),
        ("is_organization_trail", pa.bool_()),
    ],
)


def cloudtrail_trails(client: AwsClient, state: StateReader) -> Iterator[Item]:
    trails = client.client("cloudtrail").describe_trails(includeShadowTrails=False)
    for trail in trails.get("trailList", []):
        yield _row(
            client,
            trail,
            CLOUDTRAIL_TRAILS,
            arn=trail["TrailARN"],
            s3_bucket_name=trail.get("S3BucketName"),
        )


CLOUDWATCH_LOG_GROUPS = _table(
    "aws_cloudwatch_log_groups",
    "CloudWatch Logs log groups.",
    [
        ("arn", pa.utf8()),
        ("log_group_name", pa.utf8()),
        ("creation_time", TS),
        ("retention_in_days", pa.int64()),
        ("stored_bytes", pa.int64()),
        ("metric_filter_count", pa.int64()),
        ("kms_key_id", pa.utf8()),
    ],
)


def cloudwatch_log_groups(client: AwsClient, state: StateReader) -> Iterator[Item]:
    for group in _paginate(client.client("logs"), "describe_log_groups", "logGroups"):
        created = group.get("creationTime")
        yield _row(
            client,
            {pascal(k): v for k, v in group.items()},
            CLOUDWATCH_LOG_GROUPS,
            arn=group.get("arn", "").removesuffix(":*"),
            creation_time=datetime.fromtimestamp(created / 1000, UTC) if created else None,
        )


# -- CloudTrail events (incremental) ---------------------------------------------------------

CLOUDTRAIL_EVENTS = _table(
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
    pk="event_id",
    incremental=True,
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
    for event in _paginate(client.client("cloudtrail"), "lookup_events", "Events", StartTime=start):
        when: datetime = event["EventTime"].astimezone(UTC)
        if when < start or (when == start and event["EventId"] in seen_at_start):
            continue
        if newest is None or when > newest:
            newest, ids_at_newest = when, {event["EventId"]}
        elif when == newest:
            ids_at_newest.add(event["EventId"])
        raw = event.get("CloudTrailEvent")
        yield _row(
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


ALL: list[AwsTable] = [
    AwsTable(S3_BUCKETS, s3_buckets),
    AwsTable(EC2_INSTANCES, ec2_instances),
    AwsTable(EC2_VPCS, ec2_vpcs),
    AwsTable(EC2_SUBNETS, ec2_subnets),
    AwsTable(EC2_SECURITY_GROUPS, ec2_security_groups),
    AwsTable(IAM_USERS, iam_users),
    AwsTable(IAM_ROLES, iam_roles),
    AwsTable(IAM_POLICIES, iam_policies),
    AwsTable(LAMBDA_FUNCTIONS, lambda_functions),
    AwsTable(DYNAMODB_TABLES, dynamodb_tables),
    AwsTable(CLOUDTRAIL_TRAILS, cloudtrail_trails),
    AwsTable(CLOUDWATCH_LOG_GROUPS, cloudwatch_log_groups),
    AwsTable(CLOUDTRAIL_EVENTS, cloudtrail_events),
]
