#!/usr/bin/env python3
"""Acknowledgements of single events while `faultline serve` keeps engine snapshots.

Starts `serve` on a fresh SQLite log in a temporary directory, posts a storm log to it
in NDJSON batches (the engine catches up and keeps a snapshot every 100,000 events,
at most one a second), and meanwhile posts one report every 10 ms, timing each
acknowledgement. Prints the acknowledgements' p50, p99 and max, those over 200 ms, the
snapshots kept, the server's `slow statement` warnings and the size of the snapshots'
file and its write-ahead log (BENCHMARKS.md, "Acknowledgements while a snapshot is
written").

    python3 benches/ack_during_snapshots.py target/release/faultline \\
        gis-data/bdgd_mux_energia.geojson big.ndjson --seconds 150
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import tempfile
import threading
import time

# The administrator's token of the server it starts (16 characters at least).
TOKEN = "ack-bench-admin-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(conn, body, kind):
    conn.request("POST", "/api/v1/events", body,
                 {"Authorization": f"Bearer {TOKEN}", "Content-Type": kind})
    r = conn.getresponse()
    r.read()
    return r.status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("faultline")
    ap.add_argument("network")
    ap.add_argument("events", help="a storm log (NDJSON), e.g. from faultline simulate")
    ap.add_argument("--seconds", type=float, default=150)
    ap.add_argument("--batch", type=int, default=20000)
    a = ap.parse_args()

    lines = open(a.events).read().splitlines()
    customer = next(json.loads(l)["customer"] for l in lines if '"customer"' in l)
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "log.db")
        port = free_port()
        log = open(os.path.join(tmp, "serve.log"), "w")
        serve = subprocess.Popen(
            [a.faultline, "serve", "--network", a.network, "--db", db,
             "--bind", f"127.0.0.1:{port}", "--snapshot-every", "100000",
             "--snapshot-min-interval-s", "1"],
            env={**os.environ, "FAULTLINE_ADMIN_TOKEN": TOKEN, "FAULTLINE_LOG": "info"},
            stdout=subprocess.DEVNULL, stderr=log)
        try:
            for _ in range(600):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)

            def feed():
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                for i in range(0, len(lines), a.batch):
                    post(c, "\n".join(lines[i:i + a.batch]), "application/x-ndjson")

            feeder = threading.Thread(target=feed)
            feeder.start()
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            lats, i, start = [], 0, time.time()
            while time.time() < start + a.seconds:
                i += 1
                body = json.dumps({"type": "report", "at": "2026-09-01T00:00:00Z",
                                   "id": f"ACK-{i}", "customer": customer,
                                   "source": "call", "problem": "no_power"})
                t0 = time.time()
                status = post(c, body, "application/json")
                lats.append((t0 - start, time.time() - t0, status))
                time.sleep(0.01)
            feeder.join()
        finally:
            serve.terminate()
            serve.wait()
            log.close()
        ls = sorted(l for _, l, _ in lats)
        print(f"acknowledgements {len(ls)}: p50 {ls[len(ls) // 2] * 1000:.1f} ms, "
              f"p99 {ls[int(len(ls) * 0.99)] * 1000:.1f} ms, max {ls[-1] * 1000:.1f} ms; "
              f"statuses {sorted(set(s for *_, s in lats))}")
        for at, l, _ in lats:
            if l > 0.2:
                print(f"  over 200 ms at {at:.1f} s: {l * 1000:.0f} ms")
        text = open(os.path.join(tmp, "serve.log")).read()
        slow = [l.split("summary=", 1)[1].split(" db.statement")[0]
                for l in text.splitlines() if "slow statement" in l and "summary=" in l]
        print(f"snapshots kept {text.count('engine snapshot kept')}, "
              f"slow statement warnings {len(slow)}: {sorted(set(slow))}")
        for f in ["log.db-snapshots", "log.db-snapshots-wal"]:
            path = os.path.join(tmp, f)
            if os.path.exists(path):
                print(f"{f}: {os.path.getsize(path) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
