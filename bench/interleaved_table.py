"""Print bench/interleave.py's JSON as a table: median (q1, q3) in ms, then the command.

    python3 bench/interleaved_table.py INTERLEAVED_JSON [PREFIX...]

bench/profile.sh prints its decomposition of `sfauth refresh` this way into summary.txt.
Each PREFIX (the output and repository directories) is cut from the commands, followed by
its "/", so that the lines show what differs between the variants rather than long paths;
a command is cut to 150 characters. Standard library only.
"""

import json
import sys


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        rows = json.load(f)
    for r in rows:
        cmd = r["command"]
        for prefix in sys.argv[2:]:
            cmd = cmd.replace(prefix + "/", "")
        print(f'{r["median_ms"]:8.2f}  (q1 {r["q1_ms"]:.2f}, q3 {r["q3_ms"]:.2f})  {cmd[:150]}')
    return 0


if __name__ == "__main__":
    sys.exit(main())
