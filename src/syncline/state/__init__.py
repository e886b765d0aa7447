"""Cursor storage on top of any destination."""

from syncline.state.client import CursorStore, StateClient
from syncline.state.codec import state_table

__all__ = ["CursorStore", "StateClient", "state_table"]
