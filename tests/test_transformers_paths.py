"""JSON paths of the basic transformer, on values (the sync tests cover them on destinations)."""

from __future__ import annotations

import json

import pytest

from syncline.transformers.basic import json_paths as jp


def test_paths_split_on_unescaped_dots():
    assert jp.split_column("tags") == ("tags", None)
    assert jp.split_column("tags.foo.bar.0") == ("tags", ("foo", "bar", "0"))
    assert jp.split_column(r"tags.kubectl\.kubernetes\.io\/last") == (
        "tags",
        ("kubectl.kubernetes.io/last",),
    )


def test_deletions_apply_one_after_another_in_config_order():
    raw = b'{"a":[{"x":1},{"x":2},{"x":3}],"b":{"0":"key, not index"}}'
    # after a.0 goes, a has two elements: a.2 names nothing
    out = jp.delete_paths(raw, [("a", "0"), ("a", "2"), ("b", "0"), ("missing", "x")])
    assert json.loads(out) == {"a": [{"x": 2}, {"x": 3}], "b": {}}
    assert json.loads(jp.delete_paths(raw, [("a", "#")])) == {"a": [], "b": {"0": "key, not index"}}
    assert jp.delete_paths(raw, [("a", "#", "x")]) == b'{"a":[{},{},{}],"b":{"0":"key, not index"}}'


def test_values_that_are_not_json_are_left_alone():
    assert jp.delete_paths(b"not json", [("a",)]) == b"not json"
    assert jp.update_values(b"{bad", [("a",)], lambda p, v: ["x"] * len(v)) == b"{bad"


def test_an_unchanged_document_keeps_its_original_text():
    raw = b'{ "a" : 1 }'
    assert jp.delete_paths(raw, [("b",)]) == raw


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("drop", {"spec": [{"image": "i1"}, {"image": "i2"}]}),
        (
            "collapse",
            {
                "spec": [{"image": "i1", "env": "M"}, {"image": "i2", "env": "M"}],
                "status": "M",
                "n": None,
            },
        ),
        (
            "redact",
            {
                "spec": [{"image": "i1", "env": ["M", "M"]}, {"image": "i2", "env": []}],
                "status": {"phase": "M"},
                "n": None,
            },
        ),
    ],
)
def test_allowlists_drop_collapse_or_redact_the_rest(mode, expected):
    doc = {
        "spec": [{"image": "i1", "env": ["A", "B"]}, {"image": "i2", "env": []}],
        "status": {"phase": "Running"},
        "n": None,
    }
    out = jp.allow_only(doc, [("spec", "#", "image")], mode, lambda node: "M")
    assert out == expected
