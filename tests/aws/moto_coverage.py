"""Whether moto implements an AWS operation: its response class for the service has a handler
named after the operation. Used to prove a table fails only because moto lacks its API."""

from __future__ import annotations

import importlib
import inspect
from functools import cache

from botocore import xform_name
from moto.core.responses import BaseResponse

# botocore service names whose moto package is named otherwise.
MODULES = {"lambda": "awslambda", "timestream-write": "timestreamwrite", "es": "es"}


@cache
def _handlers(service: str) -> frozenset[str]:
    module = MODULES.get(service, service.replace("-", ""))
    try:
        responses = importlib.import_module(f"moto.{module}.responses")
    except ImportError:
        return frozenset()  # moto has no such service
    names: set[str] = set()
    for _, cls in inspect.getmembers(responses, inspect.isclass):
        if issubclass(cls, BaseResponse) and cls is not BaseResponse:
            names.update(n for n in dir(cls) if n not in dir(BaseResponse))
    return frozenset(names)


def implements(service: str, operation: str) -> bool:
    if service == "s3":
        return True  # moto's S3 answers every REST path from one dispatcher, not by name
    return xform_name(operation) in _handlers(service)
