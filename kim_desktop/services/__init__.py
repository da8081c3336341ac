"""Use cases. No Qt: the GUI and the CLI call the same functions."""
