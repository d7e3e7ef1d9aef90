"""Time commands interleaved (A B C, C B A, A B C, ...), so that drift on a shared,
noisy machine hits every command alike. Prints one JSON object: median and quartiles (ms).

    python3 bench/interleave.py N 'CMD A' 'CMD B' ...     # N rounds, 1..1000

Each command is split with shlex and started with posix_spawn (no shell), with stdin,
stdout and stderr on /dev/null; a command that exits non-zero fails the whole run.
Bounded: N rounds, and at most 300 s in all.
"""

import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time


def main() -> int:
    n = int(sys.argv[1])
    if not 1 <= n <= 1000 or len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmds = [shlex.split(c) for c in sys.argv[2:]]
    for c in cmds:
        c[0] = shutil.which(c[0]) or c[0]
    null = os.open(os.devnull, os.O_RDWR)
    actions = [(os.POSIX_SPAWN_DUP2, null, fd) for fd in (0, 1, 2)]
    times = [[] for _ in cmds]
    deadline = time.monotonic() + 300
    for i in range(n):
        if time.monotonic() > deadline:
            break
        order = range(len(cmds)) if i % 2 == 0 else reversed(range(len(cmds)))
        for k in order:
            started = time.perf_counter()
            pid = os.posix_spawn(cmds[k][0], cmds[k], os.environ, file_actions=actions)
            _, status = os.waitpid(pid, 0)
            times[k].append((time.perf_counter() - started) * 1000)
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                print(f"exit {code}: {sys.argv[2 + k]}", file=sys.stderr)
                again = subprocess.run(cmds[k], capture_output=True, text=True, timeout=60)
                print(f"run again: exit {again.returncode}: {again.stderr.strip()}", file=sys.stderr)
                return 1
    out = []
    for cmd, t in zip(sys.argv[2:], times):
        q = statistics.quantiles(t, n=4)
        out.append({"command": cmd, "runs": len(t), "median_ms": round(statistics.median(t), 3),
                    "q1_ms": round(q[0], 3), "q3_ms": round(q[2], 3)})
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
