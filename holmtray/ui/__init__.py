"""The Qt layer: application lifecycle, tray icon, notifier adapters, windows and dialogs."""
