"""Per-destination record transformations: the built-in ``cloudquery/basic`` transformer and
the chain the engine runs between a source and one destination."""
