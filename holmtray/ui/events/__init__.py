"""The event window and its parts: the history table, its model, the detail pane."""
