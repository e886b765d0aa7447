"""Drive an external transformer plugin (``registry: grpc`` or ``local``) over protocol v3."""

from __future__ import annotations

import grpc
import pyarrow as pa
from cloudquery.plugin_v3 import plugin_pb2

from syncline.config.models import Registry
from syncline.grpc.client import ExternalSpec, _External
from syncline.grpc.ipc import record_bytes, record_from_bytes, schema_bytes
from syncline.plugin.contracts import PluginContext
from syncline.plugin.errors import SynclineError


def schema_from_bytes(data: bytes) -> pa.Schema:
    with pa.ipc.open_stream(data) as reader:
        return reader.schema


class ExternalTransformer(_External):
    def __init__(
        self, registry: Registry, path: str, spec: ExternalSpec, ctx: PluginContext
    ) -> None:
        super().__init__("transformer", registry, path, spec, ctx)

    def transform_schema(self, schema: pa.Schema) -> pa.Schema:
        request = plugin_pb2.TransformSchema.Request(schema=schema_bytes(schema))
        try:
            return schema_from_bytes(self.stub.TransformSchema(request).schema)
        except grpc.RpcError as e:
            raise SynclineError(f"transformer {self.name}: {self._why(e)}") from e

    def transform(self, record: pa.RecordBatch) -> pa.RecordBatch:
        # One short stream per record: every answer belongs to it, however many there are.
        request = plugin_pb2.Transform.Request(record=record_bytes(record))
        try:
            out = [record_from_bytes(r.record) for r in self.stub.Transform(iter([request]))]
        except grpc.RpcError as e:
            raise SynclineError(f"transformer {self.name}: {self._why(e)}") from e
        if len(out) == 1:
            return out[0]
        schema = out[0].schema if out else self.transform_schema(record.schema)
        table = pa.Table.from_batches(out, schema=schema).combine_chunks()
        batches = table.to_batches()
        return batches[0] if batches else pa.RecordBatch.from_pylist([], schema=schema)
