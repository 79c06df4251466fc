"""Configuration: the settings schema and its checks, the immutable :class:`Settings`, the
TOML file, where files live (``paths``), and start at login (``autostart``)."""
