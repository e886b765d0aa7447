"""Tables written by hand, where one list call is not enough (S3 bucket policy, versioning
and encryption; IAM users' tags, roles' trust policies, policies' default version document;
DynamoDB's table descriptions). They replace the generated table of the same name and keep
its generated children. CloudQuery's names, snake_case columns of the API's fields,
``account_id`` and ``region`` on every row, ``arn`` as primary key."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
from botocore.exceptions import ClientError

from syncline.connectors.aws.catalog import GLOBAL_REGION, TS
from syncline.connectors.aws.clients import AwsClient
from syncline.connectors.aws.resolve import tags_dict
from syncline.plugin.contracts import StateReader
from syncline.scheduler import Resolver
from syncline.scheduler.scheduler import Row
from syncline.schema.table import Column, Table
from syncline.schema.types import JSON

Item = dict[str, Any]


def pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


@dataclass(frozen=True)
class AwsTable:
    """A table written by hand, with its resolver (client, parent row, state)."""

    table: Table
    resolve: Resolver


def table(
    name: str,
    description: str,
    columns: list[tuple[str, pa.DataType]],
    *,
    pk: tuple[str, ...] = ("arn",),
    incremental_key: str = "",
) -> Table:
    cols = [
        Column(key, pa.utf8(), f"AWS {key.replace('_', ' ')}", key in pk, not_null=key in pk)
        for key in ("account_id", "region")
    ]
    for col, t in columns:
        cols.append(
            Column(
                col,
                t,
                primary_key=col in pk,
                not_null=col in pk,
                incremental_key=col == incremental_key,
            )
        )
    return Table(name, tuple(cols), description=description, is_incremental=bool(incremental_key))


def row(
    client: AwsClient, item: Item, table: Table, region: str | None = None, **extra: Any
) -> Item:
    """Columns filled from the item's PascalCase fields, plus account, region and ``extra``."""
    out: Item = {"account_id": client.account_id, "region": region or client.region}
    for c in table.columns:
        if c.name in out:
            continue
        value = extra[c.name] if c.name in extra else item.get(pascal(c.name))
        if c.name == "tags":
            value = tags_dict(value)
        out[c.name] = value
    return out


def paginate(client: Any, op: str, key: str, **kwargs: Any) -> Iterator[Item]:
    if client.can_paginate(op):
        for page in client.get_paginator(op).paginate(**kwargs):
            yield from page.get(key, [])
    else:
        yield from getattr(client, op)(**kwargs).get(key, [])


# -- S3 -------------------------------------------------------------------------------------

S3_BUCKETS = table(
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


def s3_buckets(client: AwsClient, parent: Row | None, state: StateReader) -> Iterator[Item]:
    if not client.is_global:
        return
    s3 = client.client("s3")
    for bucket in s3.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        location = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
        regional = client.client("s3", location)
        versioning = regional.get_bucket_versioning(Bucket=name)
        policy = _optional(regional.get_bucket_policy, "Policy", "NoSuchBucketPolicy", Bucket=name)
        yield row(
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


# -- IAM (global) ---------------------------------------------------------------------------

IAM_USERS = table(
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


def iam_users(client: AwsClient, parent: Row | None, state: StateReader) -> Iterator[Item]:
    if not client.is_global:
        return
    iam = client.client("iam")
    for user in paginate(iam, "list_users", "Users"):
        tags = iam.list_user_tags(UserName=user["UserName"]).get("Tags", [])
        yield row(client, user, IAM_USERS, region=GLOBAL_REGION, tags=tags_dict(tags))


IAM_ROLES = table(
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


def iam_roles(client: AwsClient, parent: Row | None, state: StateReader) -> Iterator[Item]:
    if not client.is_global:
        return
    for role in paginate(client.client("iam"), "list_roles", "Roles"):
        doc = policy_document(role.get("AssumeRolePolicyDocument"))
        yield row(client, role, IAM_ROLES, region=GLOBAL_REGION, assume_role_policy_document=doc)


IAM_POLICIES = table(
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
        ("default_version_document", JSON),
    ],
)


def policy_document(doc: Any) -> Any:
    """A policy document as JSON: botocore decodes IAM's, other paths give URL-encoded text."""
    return json.loads(unquote(doc)) if isinstance(doc, str) else doc


def iam_policies(client: AwsClient, parent: Row | None, state: StateReader) -> Iterator[Item]:
    if not client.is_global:
        return
    iam = client.client("iam")
    for policy in paginate(iam, "list_policies", "Policies", Scope="Local"):
        version = iam.get_policy_version(
            PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"]
        )["PolicyVersion"]
        yield row(
            client,
            policy,
            IAM_POLICIES,
            region=GLOBAL_REGION,
            default_version_document=policy_document(version.get("Document")),
        )


DYNAMODB_TABLES = table(
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


def dynamodb_tables(client: AwsClient, parent: Row | None, state: StateReader) -> Iterator[Item]:
    ddb = client.client("dynamodb")
    for name in paginate(ddb, "list_tables", "TableNames"):
        desc = ddb.describe_table(TableName=name)["Table"]
        yield row(client, desc, DYNAMODB_TABLES, arn=desc["TableArn"])


HANDWRITTEN: list[AwsTable] = [
    AwsTable(S3_BUCKETS, s3_buckets),
    AwsTable(IAM_USERS, iam_users),
    AwsTable(IAM_ROLES, iam_roles),
    AwsTable(IAM_POLICIES, iam_policies),
    AwsTable(DYNAMODB_TABLES, dynamodb_tables),
]
