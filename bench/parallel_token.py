"""Start CALLERS `sfauth token` processes at once on one token, ROUNDS times.

    python3 bench/parallel_token.py --sfauth BIN --token-file F --client-id ID \
        --login-url URL [--callers 64] [--rounds 5] [--stale] > result.json
    python3 bench/parallel_token.py --sfauth BIN --store URL --store-key KEY --homes 8 ... \
        > result.json   # the token in a shared store (password in SFAUTH_STORE_PASSWORD)

With --stale, each round first backdates the token's issued_at by three hours (past the 2 h
session timeout), so exactly one refresh is needed; without it the token is used as it is
(the baseline: the same processes, no refresh). With --store, the token is read and written
back by `sfauth store export` / `sfauth store import`, and the callers are spread over HOMES
separate SFAUTH_HOME directories (machines that share nothing but the store). Around each round it reads the emulator's
counters (GET URL/__emulator/stats) and reports how many refreshes the emulator served,
refused as parallel, or caught as reuse. Standard library only. Every wait is bounded.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

STATS_KEYS = ("token_requests", "refreshes_served", "refused_parallel", "reuse_detected")


def stats(url: str) -> dict:
    # Loopback only; no proxy may sit in between.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url.rstrip("/") + "/__emulator/stats", timeout=10) as r:
        return json.load(r)


def make_stale(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        token = json.load(f)
    token["issued_at"] = str(int((time.time() - 3 * 3600) * 1000))
    tmp = path + ".bench-tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(token, f, indent=2)
    os.replace(tmp, path)


def make_stale_in_store(a, env) -> None:
    where = ["--store", a.store, "--store-key", a.store_key]
    out = subprocess.run([a.sfauth, "store", "export", *where], env=env, check=True,
                         capture_output=True, timeout=30).stdout
    token = json.loads(out)
    token["issued_at"] = str(int((time.time() - 3 * 3600) * 1000))
    subprocess.run([a.sfauth, "store", "import", *where, "-"], env=env, check=True,
                   input=json.dumps(token).encode(), capture_output=True, timeout=30)


def one_round(a, env, homes) -> dict:
    if a.stale:
        if a.store:
            make_stale_in_store(a, env)
        else:
            make_stale(a.token_file)
    before = stats(a.login_url)
    if a.store:
        where = ["--store", a.store, "--store-key", a.store_key]
    else:
        where = ["--token-file", a.token_file]
    cmd = [a.sfauth, "token", *where, "--client-id", a.client_id, "--login-url", a.login_url]
    started = time.perf_counter()
    procs = [subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE,
                              env=dict(env, SFAUTH_HOME=homes[i % len(homes)]))
             for i in range(a.callers)]
    spawned_ms = (time.perf_counter() - started) * 1000
    tokens, failures, deadline = [], [], time.monotonic() + a.timeout
    for p in procs:
        try:
            out, err = p.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            failures.append("timeout")
            continue
        if p.returncode != 0:
            failures.append(f"exit {p.returncode}: {err.decode(errors='replace').strip()}")
        else:
            tokens.append(out.decode().strip())
    wall_ms = (time.perf_counter() - started) * 1000
    after = stats(a.login_url)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in STATS_KEYS}
    return {"wall_ms": round(wall_ms, 1), "spawn_ms": round(spawned_ms, 1),
            "ok": len(tokens), "failed": len(failures), "first_failure": failures[:1],
            "distinct_tokens": len(set(tokens)), **delta}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--sfauth", required=True)
    p.add_argument("--token-file")
    p.add_argument("--store", help="a shared store's URL, instead of --token-file")
    p.add_argument("--store-key", default="default")
    p.add_argument("--homes", type=int, default=1, help="separate SFAUTH_HOMEs (with --store)")
    p.add_argument("--client-id", required=True)
    p.add_argument("--login-url", required=True)
    p.add_argument("--callers", type=int, default=64)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per round")
    p.add_argument("--stale", action="store_true")
    a = p.parse_args()
    if not (1 <= a.callers <= 512 and 1 <= a.rounds <= 50 and 1 <= a.homes <= 64):
        print("callers 1..512, rounds 1..50, homes 1..64", file=sys.stderr)
        return 2
    if bool(a.store) == bool(a.token_file):
        print("give one of --token-file and --store", file=sys.stderr)
        return 2
    env = dict(os.environ, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env.pop("SFAUTH_CLIENT_SECRET", None)
    with tempfile.TemporaryDirectory(prefix="sfauth-bench-homes-") as base:
        homes = [os.path.join(base, f"home{i}") for i in range(a.homes)]
        if not a.store:
            # One machine: the caller's own home, as before.
            homes = [env.get("SFAUTH_HOME", os.path.join(base, "home0"))]
        for home in homes:
            os.makedirs(home, mode=0o700, exist_ok=True)
        rounds = [one_round(a, env, homes) for _ in range(a.rounds)]
    walls = [r["wall_ms"] for r in rounds]
    summary = {
        "callers": a.callers,
        "homes": len(homes),
        "store": a.store.split("://")[0] if a.store else "file",
        "stale": a.stale,
        "rounds": rounds,
        "median_wall_ms": statistics.median(walls),
        "min_wall_ms": min(walls),
        "max_wall_ms": max(walls),
        "total_failed": sum(r["failed"] for r in rounds),
        "max_distinct_tokens": max(r["distinct_tokens"] for r in rounds),
        **{f"min_{k}": min(r[k] for r in rounds) for k in STATS_KEYS},
        **{f"max_{k}": max(r[k] for r in rounds) for k in STATS_KEYS},
        **{f"total_{k}": sum(r[k] for r in rounds) for k in STATS_KEYS},
    }
    print(json.dumps(summary, indent=2))
    return 0 if summary["total_failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
