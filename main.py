"""`make run` opens the nstvideo app; until the window lands this prints how to use the command line."""
from nstvideo.cli import main

if __name__ == "__main__":
    import sys

    from importlib.util import find_spec

    if find_spec("nstvideo.app.main_window") is None:
        print("The desktop window is not built yet. Meanwhile, the command line:\n")
        raise SystemExit(main(sys.argv[1:] or ["--help"]))
    from nstvideo.app.main_window import run_app

    raise SystemExit(run_app(sys.argv))
