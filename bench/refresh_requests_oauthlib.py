"""One refresh-token grant with requests-oauthlib, as a Python script would do it.

    OAUTHLIB_INSECURE_TRANSPORT=1 python bench/refresh_requests_oauthlib.py \
        LOGIN_URL CLIENT_ID TOKEN_FILE [--loop N]

Reads refresh_token from TOKEN_FILE and calls
OAuth2Session(client_id).refresh_token(LOGIN_URL/services/oauth2/token, refresh_token=rt,
client_id=client_id), which POSTs the form. oauthlib refuses http:// unless
OAUTHLIB_INSECURE_TRANSPORT=1 (the emulator listens on plain http on 127.0.0.1).
Exits non-zero on any failure. With --loop N (1..1000) it also times N refreshes in this
one process and prints JSON: {"load_ms", "median_ms", "p90_ms", "n"}.
"""

import time

T0 = time.perf_counter()
import json  # noqa: E402
import sys  # noqa: E402

from requests_oauthlib import OAuth2Session  # noqa: E402

LOAD_MS = (time.perf_counter() - T0) * 1000


def main() -> int:
    args = sys.argv[1:]
    if len(args) not in (3, 5):
        print("usage: refresh_requests_oauthlib.py LOGIN_URL CLIENT_ID TOKEN_FILE [--loop N]",
              file=sys.stderr)
        return 2
    login_url, client_id, token_file = args[:3]
    with open(token_file, encoding="utf-8") as f:
        rt = json.load(f)["refresh_token"]
    token_url = login_url.rstrip("/") + "/services/oauth2/token"
    session = OAuth2Session(client_id)

    def refresh() -> None:
        token = session.refresh_token(token_url, refresh_token=rt, client_id=client_id,
                                      timeout=30)
        if not token.get("access_token"):
            raise RuntimeError("no access_token in the answer")

    if len(args) == 3:
        refresh()
        return 0
    if args[3] != "--loop" or not args[4].isdigit() or not 1 <= int(args[4]) <= 1000:
        print("--loop N: 1..1000", file=sys.stderr)
        return 2
    n = int(args[4])
    times = []
    deadline = time.monotonic() + 60  # bounded in count and in time
    while len(times) < n and time.monotonic() < deadline:
        s = time.perf_counter()
        refresh()
        times.append((time.perf_counter() - s) * 1000)
    times.sort()
    q = lambda p: times[min(len(times) - 1, int(p * len(times)))]  # noqa: E731
    print(json.dumps({"load_ms": LOAD_MS, "median_ms": q(0.5), "p90_ms": q(0.9), "n": len(times)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
