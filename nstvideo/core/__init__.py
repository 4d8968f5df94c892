"""The shared core: networks, losses, style files and stylization. No Qt, no threads."""
