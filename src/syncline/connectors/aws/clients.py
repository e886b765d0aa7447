"""One client per (account, region), each with boto3 clients made on demand."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config


@dataclass
class AwsClient:
    session: boto3.Session
    account_id: str
    region: str
    # Global services (IAM, S3's bucket list, ...) are read once per account, by its first client.
    is_global: bool
    config: Config
    endpoint_url: str | None = None
    # One boto3 client per service and region, shared by every table of that service: the
    # number of clients is bounded by services x regions, never by tables or rows.
    _clients: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, service: str, region: str | None = None) -> Any:
        key = f"{service}@{region or self.region}"
        with self._lock:  # creating clients from one session is not thread-safe
            if key not in self._clients:
                self._clients[key] = self.session.client(
                    service,
                    region_name=region or self.region,
                    endpoint_url=self.endpoint_url,
                    config=self.config,
                )
            return self._clients[key]

    def serves(self, service: str) -> bool:
        """False when botocore's endpoint data lists the service's regions without this one.

        Services botocore lists no regions for (resolved by endpoint rules only) count as
        offered everywhere.
        """
        with self._lock:
            regions = self.session.get_available_regions(service)
        return not regions or self.region in regions

    def id(self) -> str:
        return f"{self.account_id}:{self.region}"
