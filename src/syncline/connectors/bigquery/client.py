"""A BigQuery client from the spec: a service account key, Application Default Credentials, or
anonymous credentials for an emulator (``endpoint`` or ``BIGQUERY_EMULATOR_HOST``)."""

from __future__ import annotations

import json
import os
from typing import Any

from google.api_core.exceptions import Conflict, GoogleAPICallError, NotFound
from google.cloud import bigquery

from syncline.connectors.bigquery.spec import BigQuerySpec
from syncline.plugin.errors import PluginInitError, WriteError

EMULATOR_HOST = "BIGQUERY_EMULATOR_HOST"


def endpoint_of(spec: BigQuerySpec) -> str:
    """The API endpoint as a URL, or "" for Google's own."""
    value = spec.endpoint or os.environ.get(EMULATOR_HOST, "")
    if value and "://" not in value:
        value = f"http://{value}"  # BIGQUERY_EMULATOR_HOST is host:port
    return value.rstrip("/")


def make_client(spec: BigQuerySpec, name: str) -> bigquery.Client:
    endpoint = endpoint_of(spec)
    key = spec.service_account_key_json.get_secret_value()
    credentials: Any = None
    if key:
        from google.oauth2 import service_account

        try:
            credentials = service_account.Credentials.from_service_account_info(json.loads(key))
        except ValueError as e:
            # The message names the missing field, never the key's contents.
            raise PluginInitError(
                f"destination {name}: spec.service_account_key_json is not a usable key: {e}"
            ) from None
    elif endpoint:
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()
    options = {"api_endpoint": endpoint} if endpoint else None
    try:
        return bigquery.Client(
            project=spec.project_id,
            credentials=credentials,
            location=spec.dataset_location or None,
            client_options=options,
        )
    except Exception as e:  # no Application Default Credentials, for one
        raise PluginInitError(f"destination {name}: cannot create a BigQuery client: {e}") from e


def ensure_dataset(client: bigquery.Client, spec: BigQuerySpec, name: str) -> None:
    """Create the dataset when it does not exist yet (in ``dataset_location``)."""
    ref = bigquery.DatasetReference(spec.project_id, spec.dataset_id)
    try:
        client.get_dataset(ref)
        return
    except NotFound:
        pass
    except GoogleAPICallError as e:
        raise WriteError(f"destination {name}: dataset {ref}: {api_message(e)}") from e
    dataset = bigquery.Dataset(ref)
    if spec.dataset_location:
        dataset.location = spec.dataset_location
    try:
        client.create_dataset(dataset)
    except Conflict:
        pass  # created meanwhile by another writer
    except GoogleAPICallError as e:
        raise WriteError(
            f"destination {name}: dataset {ref} does not exist and cannot be created: "
            f"{api_message(e)}"
        ) from e


def api_message(e: GoogleAPICallError) -> str:
    """BigQuery's own error text (reason and message), without the request URL."""
    details = [
        f"{err.get('reason', '')}: {err.get('message', '')}".strip(": ")
        for err in getattr(e, "errors", None) or []
        if isinstance(err, dict)
    ]
    text = "; ".join(d for d in details if d) or str(getattr(e, "message", "") or e)
    return f"{e.code} {text}" if getattr(e, "code", None) else text
