"""``cloudquery/basic``: CloudQuery's basic transformer, built in."""

from __future__ import annotations

from syncline.plugin.contracts import PluginContext, TransformerInfo
from syncline.transformers.basic.plugin import BasicTransformer
from syncline.transformers.basic.spec import BasicSpec


def _create(spec: BasicSpec, ctx: PluginContext) -> BasicTransformer:
    return BasicTransformer(spec)


PLUGIN = TransformerInfo(
    path="cloudquery/basic",
    spec_model=BasicSpec,
    factory=_create,
    description="Remove, add, rename and obfuscate columns, rename tables, drop rows.",
)
