"""The shipped styles. This folder is installed as the package ``nstvideo.weights`` (``package-dir`` in
pyproject.toml), so ``nstvideo.core.styles`` finds the files through ``importlib.resources`` both in the
checkout and in an installed wheel."""
