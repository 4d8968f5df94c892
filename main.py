"""`make run` and `python main.py [--source ...] [--style ...] [--device ...]`: the nstvideo window."""
from nstvideo.app.launch import main

if __name__ == "__main__":
    raise SystemExit(main())
