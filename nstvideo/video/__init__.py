"""Video: capture, inference worker, sinks and batch conversion. Uses the core, never Qt."""
