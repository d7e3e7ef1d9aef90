"""Print the non-PIE experiment of bench/profile.sh: each median in ms and as a multiple of cat's.

    python3 bench/nopie_table.py INTERLEAVED_NOPIE_JSON

The JSON is bench/interleave.py's output for exactly three commands, in this order: cat,
`sfauth token` as built (a position-independent executable) and the same `sfauth token`
linked with -C relocation-model=static. The rows are named by that position, since the
commands themselves differ only in a path. Standard library only.
"""

import json
import sys

NAMES = ("cat", "sfauth token (PIE, as built)", "sfauth token (non-PIE)")


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        rows = json.load(f)
    cat = rows[0]["median_ms"]
    for name, r in zip(NAMES, rows):
        print(f'{r["median_ms"]:8.2f} ms  {r["median_ms"] / cat:5.2f}x cat  {name}')
    return 0


if __name__ == "__main__":
    sys.exit(main())
