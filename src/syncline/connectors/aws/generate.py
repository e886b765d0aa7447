"""Build the AWS table catalogue (``catalog.json``) from botocore's service models.

Run ``python -m syncline.connectors.aws.generate`` after changing ``overrides.py`` or
upgrading botocore, review the diff of ``catalog.json`` and of the docs, and commit both.

Tables are generated at build time, not at start-up, because a table's columns are a
contract with every destination: were they derived from whatever botocore is installed,
upgrading boto3 would silently migrate (or, in safe mode, refuse) hundreds of tables. The
checked-in catalogue changes only in a reviewed commit, start-up stays fast (no model of
ninety services is parsed), and the docs test compares against a fixed set of tables.

For each covered service, every ``List*`` / ``Describe*`` / ``Get*`` operation whose output
holds a list of structures becomes a table: the paginator's ``result_key`` (or, without a
paginator, the only such list in an output with no page token) names the collection, the
structure's members are the columns. An operation with required input becomes a child
table when every required member can be filled from one top-level table of the service (a
member named ``<Parent><Suffix>`` where the parent's resource has ``<Suffix>`` or the whole
name, e.g. ``UserName`` from a ``User``'s ``UserName``, ``PolicyArn`` from a ``Policy``'s
``Arn``); otherwise it is left out.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.model import OperationModel, Shape

from syncline.connectors.aws import overrides as ov

CATALOG = Path(__file__).with_name("catalog.json")
_VERBS = ("List", "Describe", "Get")
_TYPES = {
    "string": "utf8",
    "integer": "int64",
    "long": "int64",
    "boolean": "bool",
    "timestamp": "timestamp",
    "double": "float64",
    "float": "float64",
    "blob": "binary",
}
# Suffixes of resource shape names that are not part of the resource's name.
_SHAPE_SUFFIXES = re.compile(
    r"(Summary|Description|Detail|Details|Info|Item|Metadata|Configuration|Entry|Data|Output)$"
)
_GENERIC = {"Name", "Id", "Arn", "ResourceArn", "ResourceId", "ResourceName", "Identifier"}


def _column_type(service: str, shape: Shape) -> str:
    if service == "iam" and shape.name == "policyDocumentType":
        return "json"  # botocore decodes IAM's URL-encoded policy documents into objects
    return _TYPES.get(shape.type_name, "json")


def _singular(word: str) -> str:
    for plural, single in (("ies", "y"), ("sses", "ss"), ("ses", "s"), ("s", "")):
        if word.endswith(plural):
            return word[: -len(plural)] + single
    return word


def _collection(service: str, op: OperationModel, paginator: dict[str, Any] | None) -> str | None:
    """The output member holding the resources, or None if the operation has none."""
    out = op.output_shape
    if out is None:
        return None
    if (service, op.name) in ov.RESULT_KEYS:
        return ov.RESULT_KEYS[(service, op.name)]
    if paginator is not None:
        key = paginator.get("result_key")
        return key if isinstance(key, str) and key in out.members else None
    if any(n in out.members for n in ("NextToken", "nextToken", "Marker", "NextMarker")):
        return None  # pages, but botocore knows no paginator for it
    lists = [
        n
        for n, s in out.members.items()
        if s.type_name == "list" and s.member.type_name == "structure"
    ]
    return lists[0] if len(lists) == 1 else None


def _resource(op: OperationModel, key: str, unnest: str | None) -> Shape | None:
    shape = op.output_shape.members[key]
    if shape.type_name != "list" or shape.member.type_name != "structure":
        return None
    item: Shape = shape.member
    if unnest:
        item = item.members[unnest].member
    return item if item.members else None


def _arn_member(item: Shape, noun: str) -> str | None:
    members: list[str] = [m for m, s in item.members.items() if s.type_name == "string"]
    for m in members:
        if m.lower() == "arn":
            return m
    bases = {_SHAPE_SUFFIXES.sub("", item.name).lower(), _singular(noun).lower()}
    found = [m for m in members if m.lower().endswith("arn") and m[:-3].lower() in bases]
    return found[0] if len(found) == 1 else None


def _identifier(item: Shape, noun: str) -> str | None:
    members: dict[str, str] = {
        m.lower(): m for m, s in item.members.items() if s.type_name == "string"
    }
    bases = [_SHAPE_SUFFIXES.sub("", item.name).lower(), _singular(noun).lower()]
    for base in bases:
        for suffix in ("id", "name", "identifier", "arn", "key"):
            if base + suffix in members:
                return members[base + suffix]
    for plain in ("id", "name", "identifier", "key"):
        if plain in members:
            return members[plain]
    return None


def _binding(required: list[str], parents: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The parent table and columns that fill every required member, or None.

    A required member binds to a parent whose resource name (its shape's name without
    ``Summary``, ``Detail``...; or its operation's noun in the singular) starts the member's
    name, through the parent's member named like the rest (``PolicyArn`` -> ``Arn``) or like
    the whole (``UserName`` -> ``UserName``). Names are compared without case.
    """
    for parent in parents:
        members = {m.lower(): m for m in parent["_members"]}
        bind: dict[str, str] = {}
        for need in required:
            low = need.lower()
            for base in parent["_bases"]:
                rest = low[len(base) :] if low.startswith(base) and low != base else None
                if rest is not None and (rest in members or low in members):
                    bind[need] = xform_name(members.get(low) or members[rest])
                    break
            else:
                break
        else:
            return {"parent": parent["name"], "bind": bind}
    return None


def _table(
    service: str, op_name: str, op: OperationModel, key: str, item: Shape, paginated: bool
) -> dict[str, Any]:
    noun = re.sub(r"^(List|Describe|Get)", "", op_name)
    # GetGroup lists a group's users: the table is named after what it lists.
    what = noun if noun.endswith("s") else f"{noun}{key[:1].upper()}{key[1:]}"
    name = ov.TABLE_NAMES.get((service, op_name)) or (
        f"aws_{ov.SERVICES[service]}_{xform_name(what).replace('-', '_')}"
    )
    columns: list[list[str]] = [["account_id", "", "utf8"], ["region", "", "utf8"]]
    arn_format = ov.ARN_FORMATS.get(name)
    arn_member = None if arn_format else _arn_member(item, noun)
    if arn_format or arn_member:
        columns.append(["arn", arn_member or "", "utf8"])
    for member, shape in item.members.items():
        col = "tags" if member == "Tags" else xform_name(member).replace("-", "_")
        if col in ("account_id", "region") or any(c[0] == col for c in columns):
            continue
        columns.append([col, member, _column_type(service, shape)])
    ident = None if (arn_format or arn_member) else _identifier(item, noun)
    return {
        "name": name,
        "service": service,
        "operation": ov.ALIASES.get((service, op_name), op_name),
        "result_key": key,
        "paginated": paginated,
        "unnest": ov.UNNEST.get((service, op_name)),
        "params": ov.PARAMS.get((service, op_name), {}),
        "global_region": ov.GLOBAL_SERVICES.get(service),
        "arn_format": arn_format,
        "identifier": xform_name(ident) if ident else None,
        "columns": columns,
        "_bases": {_SHAPE_SUFFIXES.sub("", item.name).lower(), _singular(noun).lower()},
        "_members": set(item.members),
    }


def _service_tables(session: Any, service: str) -> list[dict[str, Any]]:
    model = session.get_service_model(service)
    loader = session.get_component("data_loader")
    try:
        paginators = loader.load_service_model(service, "paginators-1")["pagination"]
    except Exception:
        paginators = {}
    ops = sorted(model.operation_names) + sorted(a for s, a in ov.ALIASES if s == service)
    top: list[dict[str, Any]] = []
    children: list[tuple[dict[str, Any], list[str]]] = []
    for op_name in ops:
        real = ov.ALIASES.get((service, op_name), op_name)
        if not op_name.startswith(_VERBS) or (service, op_name) in ov.SKIP:
            continue
        op = model.operation_model(real)
        key = _collection(service, op, paginators.get(real))
        item = _resource(op, key, ov.UNNEST.get((service, op_name))) if key else None
        if item is None:
            continue
        table = _table(service, op_name, op, key, item, real in paginators)  # type: ignore[arg-type]
        required = list(op.input_shape.required_members) if op.input_shape else []
        required += ov.CHILD_INPUT.get((service, op_name), [])
        required = [r for r in required if r not in table["params"]]
        if not required:
            top.append(table)
        elif service not in ov.NO_CHILDREN:
            children.append((table, required))
    for table, required in children:
        binding = _binding(required, top)
        if binding is None:
            continue
        table.update(binding)
        # The child keeps each input it was called with, in a column named after the input.
        for i, member in enumerate(binding["bind"]):
            col = xform_name(member)
            if all(c[0] != col for c in table["columns"]):
                table["columns"].insert(2 + i, [col, "", "utf8"])
        top.append(table)
    return top


def _key(table: dict[str, Any]) -> list[str]:
    if table["arn_format"] or any(c[0] == "arn" for c in table["columns"]):
        return ["arn"]
    if table["identifier"] is None:
        return []  # no recognisable identifier: rows are keyed by _cq_id
    inputs = [xform_name(m) for m in table.get("bind", {})]
    return ["account_id", "region", *dict.fromkeys([*inputs, table["identifier"]])]


def generate() -> list[dict[str, Any]]:
    session = botocore.session.get_session()
    tables: dict[str, dict[str, Any]] = {}
    for service in sorted(ov.SERVICES):
        for table in _service_tables(session, service):
            if table["name"] in tables:
                continue  # the first operation (by name) keeps a name two operations share
            table["primary_key"] = _key(table)
            tables[table["name"]] = {k: v for k, v in table.items() if not k.startswith("_")}
    # A child whose parent lost its name to another operation is dropped with it.
    return [
        t for t in sorted(tables.values(), key=lambda t: t["name"])
        if t.get("parent") is None or t["parent"] in tables
    ]  # fmt: skip


def main() -> None:
    tables = generate()
    lines = ",\n".join(json.dumps(t, sort_keys=True) for t in tables)
    CATALOG.write_text(f"[\n{lines}\n]\n")
    services = len({t["service"] for t in tables})
    print(f"{CATALOG.name}: {len(tables)} tables from {services} services")


if __name__ == "__main__":
    main()
