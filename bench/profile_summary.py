"""Top entries of a py-spy profile (`py-spy record --format raw`: one collapsed stack and its
sample count a line), for bench/load_test.py --profile.

    .venv/bin/python -m bench.profile_summary scheduler.raw        # prints the top entries
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

# Frames that only wait (a thread idle in the pool, the scheduler sleeping): not CPU.
_PROJECT = str(Path(__file__).resolve().parents[1]) + "/"
IDLE = ("wait (threading.py", "_worker (concurrent/futures/thread.py", "select (selectors.py", "sleep")


def summarize(raw: Path, top: int = 25, inside: str | None = None) -> str:
    """`inside`: count only the stacks with a frame starting with it (a request's frames, for
    the web workers), idle frames too: there a wait for a lock or for the database is the time
    being looked for."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = idle = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        n = int(count)
        if inside is not None and not any(_short(f).startswith(inside) for f in frames):
            continue
        samples += n
        if inside is None and any(frames[-1].startswith(word) for word in IDLE):
            idle += n
            continue
        own[_short(frames[-1])] += n
        for frame in {_short(f) for f in frames}:
            total[frame] += n
    busy = samples - idle
    lines = [
        f"{samples} samples inside {inside}: wall time, waits included"
        if inside is not None
        else f"{samples} samples, {busy} busy ({busy / max(1, samples):.0%}), the rest idle in wait/sleep/select",
        "",
        f"Top {top} by own time (share of busy samples):",
    ]
    lines += [f"  {n / max(1, busy):6.1%}  {frame}" for frame, n in own.most_common(top)]
    lines += ["", f"Top {top} by inclusive time (share of busy samples):"]
    lines += [f"  {n / max(1, busy):6.1%}  {frame}" for frame, n in total.most_common(top)]
    ours = [(f, n) for f, n in total.most_common() if f.split(" (", 1)[-1].startswith(("dispatch/", "notifications/"))]
    lines += ["", f"Top {top} of this project's functions by inclusive time:"]
    lines += [f"  {n / max(1, busy):6.1%}  {frame}" for frame, n in ours[:top]]
    return "\n".join(lines) + "\n"


def _short(frame: str) -> str:
    """'send (notifications/gateway.py:120)' from the absolute path py-spy writes."""
    name, _, where = frame.partition(" (")
    for marker in ("site-packages/", _PROJECT, "python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{name} ({where}" if where else name


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 25))
