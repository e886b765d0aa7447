"""One resolver for every generated table: call, paginate, turn each resource into a row."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError

from syncline.connectors.aws.catalog import GLOBAL_REGION, TableSpec
from syncline.connectors.aws.clients import AwsClient

Item = dict[str, Any]
# Errors that mean "this account does not use the feature": no rows, not a failure.
NOT_IN_USE = {"AWSOrganizationsNotInUseException", "AccountNotRegisteredException"}


def tags_dict(tags: Any) -> Any:
    """AWS's ``[{"Key": k, "Value": v}]`` as ``{k: v}`` (CloudQuery's ``tags``)."""
    if isinstance(tags, list) and all(isinstance(t, dict) and "Key" in t for t in tags):
        return {t["Key"]: t.get("Value") for t in tags}
    return tags


def items(client: Any, spec: TableSpec, params: Mapping[str, Any]) -> Iterator[Item]:
    """The resources of one call, every page, through botocore's paginator where it has one."""
    method = xform_name(spec.operation)
    if spec.paginated:
        pages: Any = client.get_paginator(method).paginate(**params)
    else:
        pages = [getattr(client, method)(**params)]
    for page in pages:
        for item in page.get(spec.result_key) or ():
            if spec.unnest:
                yield from item.get(spec.unnest) or ()
            else:
                yield item


def to_row(spec: TableSpec, item: Item, account_id: str, region: str, bound: Item) -> Item:
    row: Item = {"account_id": account_id, "region": region, **bound}
    for c in spec.columns:
        if c.member:
            value = item.get(c.member)
            if value is not None or c.name not in bound:
                row[c.name] = tags_dict(value) if c.name == "tags" else value
    if spec.arn_format:
        try:
            row["arn"] = spec.arn_format.format(account_id=account_id, region=region, **item)
        except KeyError:
            row["arn"] = None  # counted as a row without its key
    return row


def resolve(spec: TableSpec, client: AwsClient, parent: Mapping[str, Any] | None) -> Iterator[Item]:
    """Rows of ``spec`` for one account and region (global services: the account's first)."""
    if spec.global_region:
        if not client.is_global:
            return
        call_region, row_region = spec.global_region, GLOBAL_REGION
    else:
        if not client.serves(spec.service):
            return  # the service is not offered in this region: nothing to read, no error
        call_region = row_region = client.region
    params = dict(spec.params)
    bound: Item = {}
    for member, column in spec.bind.items():
        value = parent.get(column) if parent is not None else None
        if value is None:
            return
        params[member] = value
        bound[xform_name(member)] = value
    api = client.client(spec.service, call_region)
    try:
        for item in items(api, spec, params):
            yield to_row(spec, item, client.account_id, row_region, bound)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") not in NOT_IN_USE:
            raise
