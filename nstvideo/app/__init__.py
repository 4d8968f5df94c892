"""The PyQt6 desktop app: widgets and signals over the core and video libraries."""
