"""syncline: sync data from sources to destinations as Arrow record batches."""

__version__ = "0.1.0"
