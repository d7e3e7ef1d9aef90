"""Save an emulator's counters: GET URL/__emulator/stats, written as JSON to OUTFILE.

    python3 bench/emulator_stats.py URL OUTFILE [CA_FILE]

bench/run.sh calls it around each benchmark, and bench/summarize.py reads the files (how many
refreshes the emulator served, refused as parallel, caught as reuse). CA_FILE, when given and
not empty, is the PEM the emulator wrote with --ca-out: an https emulator's certificate is
signed by a CA made at its start-up, which no system store knows. Any proxy in the
environment is ignored: the emulator is on 127.0.0.1. Standard library only; bounded by a
10 s timeout.
"""

import json
import ssl
import sys
import urllib.request


def main() -> int:
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    url, outfile = sys.argv[1], sys.argv[2]
    ca_file = sys.argv[3] if len(sys.argv) == 4 else ""
    handlers = [urllib.request.ProxyHandler({})]
    if ca_file:
        context = ssl.create_default_context(cafile=ca_file)
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)
    with opener.open(url + "/__emulator/stats", timeout=10) as r:
        stats = json.load(r)
    with open(outfile, "w") as f:
        json.dump(stats, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
