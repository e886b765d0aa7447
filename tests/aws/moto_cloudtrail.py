"""moto_server with CloudTrail LookupEvents added - a TEST-ONLY extension.

moto does not implement CloudTrail ``LookupEvents``. This runs moto's own server application
behind a small WSGI layer that:
- records every mutating call it serves (names not starting with Describe/List/Get/Lookup/
  Head) as a management event: id, name, time, source service, region, user;
- forgets them on moto's ``/moto-api/reset``;
- records a late event on ``POST /moto-api/cloudtrail/late-event`` (JSON ``EventName``,
  ``AwsRegion``, ``EventTime`` in epoch seconds): one CloudTrail delivers after newer ones;
- answers ``LookupEvents`` from those records, newest first, with StartTime/EndTime
  (inclusive), MaxResults and NextToken paging; ``LookupAttributes`` are not supported.
Everything else goes to moto unchanged.

Usage: python moto_cloudtrail.py PORT
"""

from __future__ import annotations

import json
import re
import sys
import threading
import uuid
from datetime import UTC, datetime
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

_SCOPE = re.compile(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/aws4_request")
_READ = ("Describe", "List", "Get", "Lookup", "Head")
_LOOKUP = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"


class CloudTrailEvents:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/moto-api/cloudtrail/late-event":
            return self._late_event(environ, start_response)
        if path.startswith("/moto-api"):
            if path.startswith("/moto-api/reset"):
                with self.lock:
                    self.events.clear()
            return self.app(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if not length and environ.get("wsgi.input_terminated"):
            body = environ["wsgi.input"].read()  # chunked, no length (the AWS C++ SDK's uploads)
        environ["wsgi.input"] = BytesIO(body)
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        region, service = (scope.group(1), scope.group(2)) if scope else ("us-east-1", "unknown")
        if target == _LOOKUP:
            return self._lookup(json.loads(body or b"{}"), region, start_response)
        name = self._event_name(environ, target, body)
        if name and not name.startswith(_READ):
            with self.lock:
                self.events.append(
                    {
                        "EventId": str(uuid.uuid4()),
                        "EventName": name,
                        "EventTime": datetime.now(UTC).timestamp(),
                        "EventSource": f"{service}.amazonaws.com",
                        "Username": "test-user",
                        "ReadOnly": "false",
                        "AwsRegion": region,
                        "Resources": [],
                    }
                )
        return self.app(environ, start_response)

    def _late_event(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        req = json.loads(environ["wsgi.input"].read(length) or b"{}")
        event = {
            "EventId": str(uuid.uuid4()),
            "EventName": req["EventName"],
            "EventTime": float(req["EventTime"]),
            "EventSource": "test.amazonaws.com",
            "Username": "test-user",
            "ReadOnly": "false",
            "AwsRegion": req["AwsRegion"],
            "Resources": [],
        }
        with self.lock:
            self.events.append(event)
        data = json.dumps({"EventId": event["EventId"]}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [data]

    @staticmethod
    def _event_name(environ: dict[str, Any], target: str, body: bytes) -> str:
        if target:
            return target.rsplit(".", 1)[-1]
        query = parse_qs(environ.get("QUERY_STRING", ""))
        form = parse_qs(body.decode(errors="replace")) if body and b"Action=" in body else {}
        action = (query.get("Action") or form.get("Action") or [""])[0]
        if action:
            return action
        method = environ.get("REQUEST_METHOD", "GET")
        if method in ("PUT", "POST", "DELETE"):  # REST APIs such as S3 and Lambda
            return {"PUT": "Put", "POST": "Create", "DELETE": "Delete"}[method] + "Resource"
        return ""

    def _lookup(self, req: dict[str, Any], region: str, start_response: Any) -> list[bytes]:
        start = float(req.get("StartTime", 0))
        end = float(req.get("EndTime", 1e12))
        size = int(req.get("MaxResults", 50))
        offset = int(req.get("NextToken") or 0)
        with self.lock:
            matched = [
                e
                for e in self.events
                if e["AwsRegion"] == region and start <= e["EventTime"] <= end
            ]
        matched.sort(key=lambda e: e["EventTime"], reverse=True)
        page = matched[offset : offset + size]
        out: dict[str, Any] = {
            "Events": [
                {
                    **e,
                    "CloudTrailEvent": json.dumps(
                        {"eventID": e["EventId"], "eventName": e["EventName"]}
                    ),
                }
                for e in page
            ]
        }
        if offset + size < len(matched):
            out["NextToken"] = str(offset + size)
        data = json.dumps(out).encode()
        start_response(
            "200 OK",
            [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))],
        )
        return [data]


def main() -> None:
    port = int(sys.argv[1])
    app = CloudTrailEvents(DomainDispatcherApplication(create_backend_app))
    run_simple("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
