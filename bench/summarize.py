"""Summarize a bench/run.sh run: bench/out/*.json -> bench/out/results.{md,json}, printed.

    python3 bench/summarize.py bench/out

Ratios compare medians measured in the same run (the machine is shared and noisy).
Standard library only.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/out")
ROOT = OUT.parent.parent


def load(name):
    path = OUT / name
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None


def jsonl(name):
    path = OUT / name
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def hyperfine(name):
    """{command name: result} from a hyperfine --export-json file."""
    data = load(name)
    return {r["command"]: r for r in data["results"]} if data else {}


def ms(seconds):
    return seconds * 1000


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "not found"


def machine():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    osname = platform.platform()
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                osname = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    jsforce = "not installed"
    pkg = ROOT / "bench/.node/node_modules/jsforce/package.json"
    if pkg.exists():
        jsforce = json.loads(pkg.read_text())["version"]
    venv = ROOT / "bench/.venv/bin/python"
    oauthlib = "not installed"
    if venv.exists():
        oauthlib = run([str(venv), "-c", "import importlib.metadata as m; print("
                        "'requests-oauthlib', m.version('requests-oauthlib'), "
                        "'requests', m.version('requests'), 'oauthlib', m.version('oauthlib'))"])
        oauthlib = oauthlib or "requests-oauthlib not installed"
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "os": f"{osname}, kernel {platform.release()}",
        "rustc": run(["rustc", "--version"]),
        "hyperfine": run(["hyperfine", "--version"]),
        "curl": " ".join(run(["curl", "--version"]).split()[:2]),
        "node": run(["node", "--version"]),
        "jsforce": jsforce,
        "python": run([str(venv) if venv.exists() else "python3", "--version"]),
        "requests-oauthlib": oauthlib,
    }


def status():
    st = {}
    path = OUT / "status.tsv"
    if path.exists():
        for line in path.read_text().splitlines():
            key, _, text = line.partition("\t")
            st[key] = text  # the last word wins
    return st


def fmt(x, digits=2):
    return "—" if x is None else f"{x:.{digits}f}"


def main():
    st = status()
    rows = []  # (benchmark, sfauth, baseline, ratio, goal, verdict)
    res = {"machine": machine(), "status": st}

    # 1. token vs cat
    h1 = hyperfine("1_token_vs_cat.json")
    if "cat" in h1 and "sfauth token" in h1:
        a, b = ms(h1["sfauth token"]["median"]), ms(h1["cat"]["median"])
        r = a / b
        res["token_vs_cat"] = {"sfauth_ms": a, "cat_ms": b, "ratio": r,
                               "sfauth_user_sys_ms": ms(h1["sfauth token"]["user"] + h1["sfauth token"]["system"]),
                               "cat_user_sys_ms": ms(h1["cat"]["user"] + h1["cat"]["system"])}
        rows.append(("1. `sfauth token`, fresh token", f"{a:.2f} ms", f"cat {b:.2f} ms",
                     f"{r:.2f}x", "≤ 2x cat", "met" if r <= 2 else "MISSED"))
        for name in ("rust-cat", "sfauth --version"):
            if name in h1:
                c = ms(h1[name]["median"])
                res["token_vs_cat"][f"{name}_ms"] = c
                rows.append((f"1. (split) `{name}`", f"{c:.2f} ms", f"cat {b:.2f} ms",
                             f"{c / b:.2f}x", "context", "—"))
    else:
        rows.append(("1. `sfauth token`, fresh token", "—", "cat", "—", "≤ 2x cat",
                     st.get("token", "not measured")))
    il = load("1_interleaved.json")
    if il and len(il) >= 2:
        cat, tok = il[0]["median_ms"], il[1]["median_ms"]
        res["token_vs_cat_interleaved"] = il
        extra = "; ".join(f"{n} {r['median_ms']:.2f} ms"
                          for n, r in zip(("rust-cat", "sfauth --version"), il[2:]))
        rows.append(("1. (interleaved check, 300 rounds)", f"{tok:.2f} ms",
                     f"cat {cat:.2f} ms; {extra}", f"{tok / cat:.2f}x", "≤ 2x cat",
                     "met" if tok / cat <= 2 else "MISSED"))

    # 2. refresh vs curl / jsforce / requests-oauthlib
    h2 = hyperfine("2_refresh_vs_curl.json")
    if "curl" in h2 and "sfauth refresh" in h2:
        a, b = ms(h2["sfauth refresh"]["median"]), ms(h2["curl"]["median"])
        r = a / b
        res["refresh_vs_curl"] = {"sfauth_ms": a, "curl_ms": b, "ratio": r}
        rows.append(("2a. one refresh", f"{a:.2f} ms", f"curl {b:.2f} ms", f"{r:.2f}x",
                     "≤ 1.2x curl", "met" if r <= 1.2 else "MISSED"))
    else:
        rows.append(("2a. one refresh", "—", "curl", "—", "≤ 1.2x curl",
                     st.get("curl", "not measured")))
    il = load("2_interleaved.json")
    if il and len(il) == 2:
        curl, ref = il[0]["median_ms"], il[1]["median_ms"]
        res["refresh_vs_curl_interleaved"] = il
        rows.append(("2a. (interleaved check, 100 rounds)", f"{ref:.2f} ms", f"curl {curl:.2f} ms",
                     f"{ref / curl:.2f}x", "≤ 1.2x curl", "met" if ref / curl <= 1.2 else "MISSED"))
    h2b = hyperfine("2_refresh_vs_libraries.json")
    for key, name in (("jsforce", "jsforce"), ("oauthlib", "requests-oauthlib")):
        if name in h2b and "sfauth refresh" in h2b:
            a, b = ms(h2b["sfauth refresh"]["median"]), ms(h2b[name]["median"])
            r = a / b
            res[f"refresh_vs_{key}"] = {"sfauth_ms": a, f"{key}_ms": b, "ratio": r}
            rows.append((f"2{'b' if key == 'jsforce' else 'c'}. one refresh", f"{a:.2f} ms",
                         f"{name} {b:.2f} ms", f"{r:.2f}x", f"ahead of {name} (< 1x)",
                         "met" if r < 1 else "MISSED"))
        else:
            rows.append((f"2{'b' if key == 'jsforce' else 'c'}. one refresh", "—", name, "—",
                         f"ahead of {name}", st.get(key, "not measured")))
    for key in ("jsforce", "oauthlib"):
        d = load(f"2_{key}_inprocess.json")
        if d:
            res[f"{key}_inprocess"] = d
    s_before, s_after = load("2_stats_before.json"), load("2_stats_after.json")
    if s_before and s_after:
        res["refresh_emulator_delta"] = {k: s_after[k] - s_before[k] for k in s_after
                                         if isinstance(s_after[k], int)}

    # 3. parallel processes
    p_fresh, p_stale = load("3_parallel_fresh.json"), load("3_parallel_stale.json")
    if p_stale:
        ok = (p_stale["min_refreshes_served"] == 1 and p_stale["max_refreshes_served"] == 1
              and p_stale["total_refused_parallel"] == 0 and p_stale["total_reuse_detected"] == 0
              and p_stale["total_failed"] == 0 and p_stale["max_distinct_tokens"] == 1)
        base = p_fresh["median_wall_ms"] if p_fresh else None
        p_one = load("3_parallel_stale_1.json")
        res["parallel"] = {"stale": p_stale, "fresh": p_fresh, "one_stale": p_one}
        refreshes = sorted({r["refreshes_served"] for r in p_stale["rounds"]})
        rows.append((f"3. {p_stale['callers']} `sfauth token` processes, stale token",
                     f"{p_stale['median_wall_ms']:.0f} ms wall; refreshes per round "
                     f"{'/'.join(map(str, refreshes))}, refused {p_stale['total_refused_parallel']}, "
                     f"reuse {p_stale['total_reuse_detected']}, failed {p_stale['total_failed']}",
                     f"same {p_stale['callers']} on a fresh token {fmt(base, 0)} ms",
                     f"{p_stale['median_wall_ms'] / base:.2f}x" if base else "—",
                     "1 refresh, 0 refused, 0 reuse (every round)", "met" if ok else "MISSED"))
        if p_one:
            rows.append(("3. (baseline) 1 `sfauth token` process, stale token",
                         f"{p_one['median_wall_ms']:.0f} ms wall", "", "", "context", "—"))
    else:
        rows.append(("3. parallel processes", "—", "—", "—", "1 refresh",
                     st.get("parallel", "not measured")))

    # 4. single_flight example
    many, one = jsonl("4_single_flight.jsonl"), jsonl("4_single_flight_1task.jsonl")
    thousand = jsonl("4_single_flight_1000tasks.jsonl")
    if many:
        wall = statistics.median(r["wall_ms"] for r in many)
        base = statistics.median(r["wall_ms"] for r in one) if one else None
        ok = all(r["refreshes_served"] == 1 and r["refused_parallel"] == 0
                 and r["reuse_detected"] == 0 and r["distinct_tokens"] == 1 and r["failed"] == 0
                 for r in many)
        res["single_flight"] = {"runs": many, "one_task_runs": one, "median_wall_ms": wall,
                                "one_task_median_wall_ms": base}
        rows.append((f"4. {many[0]['tasks']} tasks, one `Session`, stale token",
                     f"{wall:.1f} ms wall; refreshes "
                     f"{'/'.join(str(r['refreshes_served']) for r in many)}, distinct tokens "
                     f"{'/'.join(str(r['distinct_tokens']) for r in many)}",
                     f"1 task {fmt(base, 1)} ms", f"{wall / base:.2f}x" if base else "—",
                     "1 refresh", "met" if ok else "MISSED"))
        if thousand:
            t = statistics.median(r["wall_ms"] for r in thousand)
            res["single_flight"]["thousand_median_wall_ms"] = t
            per_task = (wall - t) / (many[0]["tasks"] - 1000) * 1000 if many[0]["tasks"] > 1000 else None
            res["single_flight"]["us_per_extra_task"] = per_task
            rows.append(("4. (baseline) 1000 tasks", f"{t:.1f} ms wall; refreshes "
                         f"{'/'.join(str(r['refreshes_served']) for r in thousand)}",
                         f"1 task {fmt(base, 1)} ms",
                         f"{t / base:.2f}x" if base else "—",
                         f"context: {fmt(per_task, 1)} µs per task beyond 1000", "—"))
        cold = jsonl("4_single_flight_1task_0ms.jsonl")
        if cold:
            c = statistics.median(r["wall_ms"] for r in cold)
            res["single_flight"]["one_task_no_latency_median_wall_ms"] = c
            rows.append(("4. (context) 1 task, 0 ms latency: one cold refresh in-process",
                         f"{c:.1f} ms", "", "", "context", "—"))
    else:
        rows.append(("4. single_flight example", "—", "—", "—", "1 refresh",
                     st.get("example", "not measured")))

    # 5. max RSS
    rss = {}
    path = OUT / "5_rss.tsv"
    if path.exists():
        for line in path.read_text().splitlines():
            name, _, kb = line.partition("\t")
            if kb.strip().isdigit():
                rss.setdefault(name, []).append(int(kb))
    med = {k: statistics.median(v) for k, v in rss.items()}
    res["max_rss_kb"] = med
    if "cat" in med and "sfauth token" in med:
        rows.append(("5a. peak memory, `sfauth token` (fresh)", f"{med['sfauth token'] / 1024:.1f} MiB",
                     f"cat {med['cat'] / 1024:.1f} MiB",
                     f"{med['sfauth token'] / med['cat']:.1f}x", "report", "—"))
    else:
        rows.append(("5a. peak memory", "—", "cat", "—", "report", st.get("rss", "not measured")))
    for name in ("rust-cat", "sfauth --version"):
        if name in med and "cat" in med:
            rows.append((f"5a. (split) peak memory, `{name}`", f"{med[name] / 1024:.1f} MiB",
                         f"cat {med['cat'] / 1024:.1f} MiB", f"{med[name] / med['cat']:.1f}x",
                         "context", "—"))
    if "curl" in med and "sfauth refresh" in med:
        rows.append(("5b. peak memory, `sfauth refresh`", f"{med['sfauth refresh'] / 1024:.1f} MiB",
                     f"curl {med['curl'] / 1024:.1f} MiB",
                     f"{med['sfauth refresh'] / med['curl']:.1f}x", "report", "—"))

    # 6. one refresh over https
    h6 = hyperfine("6_https_refresh_vs_curl.json")
    if "curl" in h6 and "sfauth refresh" in h6:
        a, b = ms(h6["sfauth refresh"]["median"]), ms(h6["curl"]["median"])
        r = a / b
        res["https_refresh_vs_curl"] = {"sfauth_ms": a, "curl_ms": b, "ratio": r}
        rows.append(("6. one refresh over https (system roots + the emulator's CA)",
                     f"{a:.2f} ms", f"curl {b:.2f} ms", f"{r:.2f}x", "≤ 1.2x curl",
                     "met" if r <= 1.2 else "MISSED"))
        one = h6.get("curl, emulator CA only")
        if one:
            c = ms(one["median"])
            res["https_refresh_vs_curl"]["curl_one_ca_ms"] = c
            rows.append(("6. (context) curl trusting the emulator's CA alone", f"{c:.2f} ms",
                         "", "", "context", "—"))
    else:
        rows.append(("6. one refresh over https", "—", "curl", "—", "≤ 1.2x curl",
                     st.get("https", "not measured")))

    # 7. a fresh token from each store
    h7 = hyperfine("7_token_by_store.json")
    if "cat" in h7:
        cat = ms(h7["cat"]["median"])
        file_ms = ms(h7["sfauth token (file)"]["median"]) if "sfauth token (file)" in h7 else None
        res["token_by_store"] = {name: ms(r["median"]) for name, r in h7.items()}
        for store, floor in (("file", None), ("postgres", "psql"), ("redis", "redis-cli")):
            name = f"sfauth token ({store})"
            if name not in h7:
                continue
            a = ms(h7[name]["median"])
            base = f"cat {cat:.2f} ms"
            if store != "file" and file_ms:
                base += f"; file store {file_ms:.2f} ms ({a / file_ms:.2f}x)"
            if floor in h7:
                f = ms(h7[floor]["median"])
                base += f"; `{floor}` reading the same row {f:.2f} ms ({a / f:.2f}x)"
            rows.append((f"7. `sfauth token --store {store}`, fresh token", f"{a:.2f} ms", base,
                         f"{a / cat:.2f}x cat", "report", "—"))
    else:
        rows.append(("7. a fresh token from each store", "—", "cat", "—", "report",
                     st.get("stores", "not measured")))

    # 8. the fleet stampede
    file_stale = load("3_parallel_stale.json")
    res["stampede"] = {}
    for store in ("postgres", "redis"):
        many, one = load(f"8_{store}_stampede.json"), load(f"8_{store}_one.json")
        if not many:
            continue
        ok = (many["min_refreshes_served"] == 1 and many["max_refreshes_served"] == 1
              and many["total_refused_parallel"] == 0 and many["total_reuse_detected"] == 0
              and many["total_failed"] == 0 and many["max_distinct_tokens"] == 1)
        res["stampede"][store] = {"many": many, "one": one}
        base = one["median_wall_ms"] if one else None
        extra = ""
        if file_stale:
            extra = (f"; file store, {file_stale['callers']} processes in 1 home "
                     f"{file_stale['median_wall_ms']:.0f} ms "
                     f"({many['median_wall_ms'] / file_stale['median_wall_ms']:.2f}x)")
        refreshes = sorted({r["refreshes_served"] for r in many["rounds"]})
        rows.append((f"8. {many['callers']} processes in {many['homes']} homes, one stale token "
                     f"in {store}",
                     f"{many['median_wall_ms']:.0f} ms wall; refreshes per round "
                     f"{'/'.join(map(str, refreshes))}, refused {many['total_refused_parallel']}, "
                     f"reuse {many['total_reuse_detected']}, failed {many['total_failed']}",
                     f"1 process on the same stale token {fmt(base, 0)} ms{extra}",
                     f"{many['median_wall_ms'] / base:.2f}x" if base else "—",
                     "1 refresh, 0 refused, 0 reuse (every round)", "met" if ok else "MISSED"))
    if not res["stampede"]:
        rows.append(("8. the fleet stampede", "—", "—", "—", "1 refresh",
                     st.get("stampede", "not measured")))

    # 9. the agent
    h9 = hyperfine("9_agent.json")
    if "cat" in h9 and "sfauth token (agent)" in h9:
        cat = ms(h9["cat"]["median"])
        res["agent"] = {name: ms(r["median"]) for name, r in h9.items()}
        for name, goal, limit in (("curl --unix-socket", "report", None),
                                  ("sfauth token (agent)", "≤ 1.2x cat", 1.2),
                                  ("sfauth token --no-agent", "context", None)):
            if name not in h9:
                continue
            a = ms(h9[name]["median"])
            verdict = "—" if limit is None else ("met" if a / cat <= limit else "MISSED")
            rows.append((f"9. `{name}`, fresh token", f"{a:.2f} ms", f"cat {cat:.2f} ms",
                         f"{a / cat:.2f}x", goal, verdict))
        il = load("9_interleaved.json")
        if il and len(il) == 4:
            cat, agent = il[0]["median_ms"], il[1]["median_ms"]
            res["agent_interleaved"] = il
            rows.append(("9. (interleaved check, 300 rounds) `sfauth token (agent)`",
                         f"{agent:.2f} ms",
                         f"cat {cat:.2f} ms; --no-agent {il[2]['median_ms']:.2f} ms; "
                         f"sfauth --version {il[3]['median_ms']:.2f} ms",
                         f"{agent / cat:.2f}x", "≤ 1.2x cat",
                         "met" if agent / cat <= 1.2 else "MISSED"))
    else:
        rows.append(("9. a token from the agent", "—", "cat", "—", "≤ 1.2x cat",
                     st.get("agent", "not measured")))

    # 10. the proxy
    h10 = hyperfine("10_proxy.json")
    if "curl, header, direct" in h10 and "curl through sfauth proxy" in h10:
        direct = ms(h10["curl, header, direct"]["median"])
        proxied = ms(h10["curl through sfauth proxy"]["median"])
        res["proxy"] = {"direct_ms": direct, "proxied_ms": proxied}
        rows.append(("10. a REST call through `sfauth proxy`", f"{proxied:.2f} ms",
                     f"curl with the header, direct {direct:.2f} ms", f"{proxied / direct:.2f}x",
                     "≤ 1.1x", "met" if proxied / direct <= 1.1 else "MISSED"))
    else:
        rows.append(("10. a REST call through the proxy", "—", "curl direct", "—", "≤ 1.1x",
                     st.get("proxy", "not measured")))

    res["rows"] = rows
    (OUT / "results.json").write_text(json.dumps(res, indent=2) + "\n")

    m = res["machine"]
    lines = ["# sfauth benchmark results", "",
             f"Machine: {m['nproc']} cores, {m['cpu']}, {m['memory']}; {m['os']}; {m['rustc']}.",
             f"Tools: {m['hyperfine']}; {m['curl']}; node {m['node']} + jsforce {m['jsforce']}; "
             f"{m['python']} + {m['requests-oauthlib']}.", "",
             "| benchmark | sfauth | baseline (same run) | ratio | goal | verdict |",
             "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines.append("")
    for key, name in (("jsforce_inprocess", "jsforce"), ("oauthlib_inprocess", "requests-oauthlib")):
        d = res.get(key)
        if d:
            lines.append(f"- {name}, in one process: loading the library {d['load_ms']:.0f} ms, then "
                         f"{d['median_ms']:.2f} ms per refresh (median of {d['n']}; p90 {d['p90_ms']:.2f} ms).")
    if "refresh_emulator_delta" in res:
        d = res["refresh_emulator_delta"]
        lines.append(f"- emulator A during benchmark 2: {d.get('refreshes_served')} refreshes served, "
                     f"{d.get('rejected')} rejected, {d.get('reuse_detected')} reuse detected.")
    not_measured = {k: v for k, v in st.items() if v != "measured"}
    for key, text in not_measured.items():
        lines.append(f"- {key}: {text}")
    text = "\n".join(lines) + "\n"
    (OUT / "results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
