"""The AWS source (``path: cloudquery/aws``), on boto3.

Tables come from the generated catalogue (``catalog.json``, see ``generate.py``), a few
replaced or added by hand (``handwritten.py``, ``events.py``). Every configured account is
read in every configured region; global services (IAM, the S3 bucket list, ...) once per
account; a service not offered in a region is skipped there. The (table, account, region)
pairs run on the scheduler's pool of ``concurrency`` threads, a child table inside its
parent's thread, so threads and boto3 clients stay bounded however many tables are
selected. Pagination everywhere; throttling and transient errors are retried by botocore's
adaptive retry mode (``max_retries``); an access error on one table or region is a counted
table error, not a failed sync.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import timedelta
from functools import cache, partial
from typing import Any

import boto3
from botocore.config import Config
from pydantic import BaseModel, ConfigDict, Field, model_validator

from syncline.connectors.aws.catalog import TableSpec, specs
from syncline.connectors.aws.clients import AwsClient
from syncline.connectors.aws.events import CLOUDTRAIL_EVENTS, cloudtrail_events
from syncline.connectors.aws.handwritten import HANDWRITTEN, AwsTable
from syncline.connectors.aws.resolve import resolve
from syncline.messages import SyncMessage
from syncline.plugin.contracts import PluginContext, StateReader, SyncOptions
from syncline.plugin.errors import PluginInitError
from syncline.plugin.specs import TableOptions
from syncline.scheduler import Resolver, sync_selected
from syncline.schema.internal import with_cq_id_columns
from syncline.schema.table import Table

BY_HAND: dict[str, AwsTable] = {
    t.table.name: t for t in [*HANDWRITTEN, AwsTable(CLOUDTRAIL_EVENTS, cloudtrail_events)]
}


class Account(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field("", description="A label; the real id comes from STS.")
    local_profile: str = Field("", description="Profile in the shared AWS config to use.")
    role_arn: str = Field(
        "", description="Role to assume (from the default or profile credentials)."
    )
    role_session_name: str = Field("syncline", description="Session name when assuming the role.")
    external_id: str = Field("", description="External id when assuming the role.")

    @model_validator(mode="after")
    def _something(self) -> Account:
        if not self.local_profile and not self.role_arn:
            raise ValueError("an account needs local_profile or role_arn")
        return self


class AwsSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    regions: list[str] = Field(
        default_factory=list,
        description='Regions to read; default: the profile\'s region; ["*"]: every enabled region.',
    )
    accounts: list[Account] = Field(
        default_factory=list, description="Accounts (profiles or roles); default: the credentials."
    )
    concurrency: int = Field(8, ge=1, description="Table/region pairs read at the same time.")
    max_retries: int = Field(10, ge=0, description="Retries of throttled or failed calls.")
    endpoint_url: str = Field(
        "", description="API endpoint for every service (also read from AWS_ENDPOINT_URL)."
    )
    table_options: dict[str, TableOptions] = Field(
        default_factory=dict,
        description="Per-table settings, e.g. {aws_cloudtrail_events: {lag: 10m}}.",
    )

    @model_validator(mode="after")
    def _lag_on_incremental_tables_only(self) -> AwsSpec:
        for table, options in self.table_options.items():
            if options.lag and table != CLOUDTRAIL_EVENTS.name:
                raise ValueError(f"table_options.{table}.lag: {table} is not incremental")
        return self


class AwsSource:
    def __init__(self, spec: AwsSpec, ctx: PluginContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self.config = Config(
            retries={"max_attempts": spec.max_retries + 1, "mode": "adaptive"},
            user_agent_extra="syncline",
        )
        # Without endpoint_url, botocore reads AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>.
        self.endpoint_url = spec.endpoint_url or None

    def tables(self) -> list[Table]:
        return all_tables()

    def test_connection(self) -> None:
        for session in self._sessions():
            session.client(
                "sts", endpoint_url=self.endpoint_url, config=self.config
            ).get_caller_identity()

    def close(self) -> None:
        return None

    def _sessions(self) -> list[boto3.Session]:
        if not self.spec.accounts:
            return [boto3.Session()]
        sessions = []
        for acct in self.spec.accounts:
            base = boto3.Session(profile_name=acct.local_profile or None)
            if not acct.role_arn:
                sessions.append(base)
                continue
            sts = base.client("sts", endpoint_url=self.endpoint_url, config=self.config)
            args: dict[str, Any] = {
                "RoleArn": acct.role_arn,
                "RoleSessionName": acct.role_session_name,
            }
            if acct.external_id:
                args["ExternalId"] = acct.external_id
            creds = sts.assume_role(**args)["Credentials"]
            sessions.append(
                boto3.Session(
                    aws_access_key_id=creds["AccessKeyId"],
                    aws_secret_access_key=creds["SecretAccessKey"],
                    aws_session_token=creds["SessionToken"],
                    region_name=base.region_name,
                )
            )
        return sessions

    def _clients(self) -> list[AwsClient]:
        clients: list[AwsClient] = []
        for session in self._sessions():
            sts = session.client(
                "sts", region_name=session.region_name or "us-east-1",
                endpoint_url=self.endpoint_url, config=self.config,
            )  # fmt: skip
            try:
                account_id = sts.get_caller_identity()["Account"]
            except Exception as e:
                raise PluginInitError(
                    f"source {self.ctx.name}: cannot identify the account: {e}"
                ) from e
            regions = self._regions(session)
            for i, region in enumerate(regions):
                clients.append(
                    AwsClient(session, account_id, region, i == 0, self.config, self.endpoint_url)
                )
        return clients

    def _regions(self, session: boto3.Session) -> list[str]:
        if self.spec.regions == ["*"]:
            ec2 = session.client(
                "ec2", region_name=session.region_name or "us-east-1",
                endpoint_url=self.endpoint_url, config=self.config,
            )  # fmt: skip
            return sorted(r["RegionName"] for r in ec2.describe_regions()["Regions"])
        if self.spec.regions:
            return list(self.spec.regions)
        return [session.region_name or "us-east-1"]

    def sync(self, options: SyncOptions, state: StateReader) -> Iterator[SyncMessage]:
        chosen = resolvers()
        trail = self.spec.table_options.get(CLOUDTRAIL_EVENTS.name)
        if trail is not None and trail.lag:
            lag = timedelta(seconds=trail.lag)
            chosen[CLOUDTRAIL_EVENTS.name] = partial(cloudtrail_events, lag=lag)
        yield from sync_selected(
            self.tables(),
            options,
            chosen,
            clients=self._clients,
            state=state,
            concurrency=self.spec.concurrency,
            batch_rows=1000,
            logger=self.ctx.logger,
        )


@cache
def all_tables() -> list[Table]:
    """Every table, children inside their parents; a table written by hand replaces the
    generated one of its name and keeps its generated children."""
    generated = specs()
    children: dict[str, list[TableSpec]] = {}
    for spec in generated.values():
        if spec.parent:
            children.setdefault(spec.parent, []).append(spec)

    def build(name: str) -> Table:
        relations = tuple(build(c.name) for c in children.get(name, []))
        base = BY_HAND[name].table if name in BY_HAND else generated[name].table()
        return replace(base, relations=relations) if relations else base

    roots = {n for n, s in generated.items() if not s.parent} | set(BY_HAND)
    return [with_cq_id_columns(build(n)) for n in sorted(roots)]


def resolvers() -> dict[str, Resolver]:
    out: dict[str, Resolver] = {n: _generated(s) for n, s in specs().items()}
    out.update({n: t.resolve for n, t in BY_HAND.items()})
    return out


def _generated(spec: TableSpec) -> Resolver:
    def resolve_rows(
        client: Any, parent: Mapping[str, Any] | None, state: StateReader
    ) -> Iterable[Any]:
        return resolve(spec, client, parent)

    return resolve_rows
