"""Cursor storage on top of any destination."""

from syncline.state.client import StateClient, state_table

__all__ = ["StateClient", "state_table"]
