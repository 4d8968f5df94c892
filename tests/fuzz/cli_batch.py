"""Runs many ``nstvideo`` command lines in one process (torch imports once), each as the CLI runs them.

``python tests/fuzz/cli_batch.py SPEC RESULT``: SPEC is JSON ``{"cwd": ..., "cases": [{"name", "argv",
"timeout"}]}``; RESULT gets one JSON object per case, written as each ends (so a crash still names the case):
``rc`` (the exit status; "traceback", "hang" or "memory" where the CLI itself would have died), ``stdout``,
``stderr`` (file descriptors 1 and 2, so C libraries' output is caught too) and ``peak_rss_mb`` (this case's
own peak: /proc/self/clear_refs resets it). Started by ``conftest.run_batch`` under an address-space limit.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import traceback


class Hang(BaseException):
    pass


def _on_alarm(signum, frame):
    raise Hang


def _peak_rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_one(main, argv: list[str], timeout: int) -> dict:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        signal.alarm(timeout)
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Hang:
            rc = "hang"
        except MemoryError:
            rc = "memory"
        except BaseException:  # what would have reached the user as a traceback
            traceback.print_exc()
            rc = "traceback"
        finally:
            signal.alarm(0)
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        peak = _peak_rss_mb()
        out.seek(0)
        err.seek(0)
        return {"rc": rc, "stdout": out.read().decode(errors="replace"),
                "stderr": err.read().decode(errors="replace"), "peak_rss_mb": peak}


def main() -> None:
    spec = json.loads(open(sys.argv[1]).read())
    os.chdir(spec["cwd"])
    signal.signal(signal.SIGALRM, _on_alarm)
    from nstvideo.cli import main as cli_main

    with open(sys.argv[2], "w") as results:
        for case in spec["cases"]:
            result = run_one(cli_main, case["argv"], case.get("timeout", 60))
            results.write(json.dumps({"name": case["name"], **result}) + "\n")
            results.flush()


if __name__ == "__main__":
    main()
