#!/usr/bin/env python3
"""Writes the committed fuzz seeds from the real data in shared/data (run once; the
seeds are committed, this script says where they came from).

Events: each example of the contract test in src/events.rs, all of them as one NDJSON
body, four as a JSON array, and two reports with an offset time and edge coordinates.

GeoJSON: a connected piece of a few dozen features cut from each real network (BFS
from a substation), so one load stays well under a millisecond. OpenDSS: the IEEE 13
and 34 bus models with their line codes and bus coordinates appended as the fuzz
target's second and third files (NUL-separated, named codes.dss and coords.csv).
"""
import json
import os
import sys

DATA = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data"
HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    path = os.path.join(HERE, "seeds", target, name)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)


def cut(name, nodes_wanted):
    with open(os.path.join(DATA, "geojson", name + ".geojson")) as f:
        coll = json.load(f)
    feats = coll["features"]
    points = {f["properties"]["id"]: f for f in feats if f["geometry"]["type"] == "Point"}
    edges = [f for f in feats if f["geometry"]["type"] == "LineString"]
    adj = {}
    for e in edges:
        p = e["properties"]
        adj.setdefault(p["from"], []).append(p["to"])
        adj.setdefault(p["to"], []).append(p["from"])
    start = next(i for i, f in points.items() if f["properties"]["kind"] == "substation")
    seen, queue = [start], [start]
    while queue and len(seen) < nodes_wanted:
        n = queue.pop(0)
        for m in adj.get(n, []):
            if m not in seen and m in points and len(seen) < nodes_wanted:
                seen.append(m)
                queue.append(m)
    keep = set(seen)
    out = [points[i] for i in seen]
    out += [e for e in edges if e["properties"]["from"] in keep and e["properties"]["to"] in keep]
    out += [
        f
        for f in points.values()
        if f["properties"]["kind"] == "customer"
        and (f["properties"].get("bus") in keep or f["properties"].get("transformer") in keep)
    ][:6]
    read = {"id", "kind", "from", "to", "bus", "transformer", "account", "name", "subtype", "normally_open", "feeder_head", "critical", "customers", "voltage_kv"}
    for f in out:
        f.pop("id", None)
        f["properties"] = {k: v for k, v in f["properties"].items() if k in read and v is not None}
        g = f["geometry"]
        r = lambda p: [round(p[0], 6), round(p[1], 6)]
        g["coordinates"] = r(g["coordinates"]) if g["type"] == "Point" else [r(p) for p in g["coordinates"]]
    small = {"type": "FeatureCollection", "metadata": {"source": name}, "features": out}
    write("geojson", name + "_cut.geojson", json.dumps(small, separators=(",", ":")))


def geojson():
    cut("ieee123", 16)
    cut("simbench_lv_urban6", 14)
    cut("epri_j1", 14)
    # Every other kind the schema has: zone, depot, road, protective devices, a tie.
    pt = lambda i, k, x, y, **p: {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]}, "properties": {"id": i, "kind": k, **p}}
    ed = lambda i, k, a, b, **p: {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[116.0, 39.0], [116.001, 39.001]]}, "properties": {"id": i, "kind": k, "from": a, "to": b, **p}}
    feats = [
        pt("S", "substation", 116.0, 39.0, voltage_kv=12.47),
        pt("A", "bus", 116.001, 39.0),
        pt("B", "bus", 116.002, 39.0),
        pt("C", "bus", 116.003, 39.0),
        pt("T1", "transformer", 116.003, 39.001, customers=4),
        pt("c1", "customer", 116.0031, 39.0011, transformer="T1", critical=True, account="AC-1"),
        pt("c2", "customer", 116.0021, 39.0001, bus="B", customers=3),
        pt("D1", "depot", 116.01, 39.01, name="North yard"),
        ed("br", "breaker", "S", "A", feeder_head=True),
        ed("l1", "line", "A", "B", voltage_kv=12.47),
        ed("f1", "fuse", "B", "C", subtype="100T"),
        ed("x1", "transformer", "C", "T1"),
        ed("r1", "recloser", "A", "C", normally_open=True),
        ed("s1", "sectionalizer", "B", "A", normally_open=True),
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[116.0, 39.0], [116.01, 39.01]]}, "properties": {"id": "rd", "kind": "road"}},
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[115.9, 38.9], [116.1, 38.9], [116.1, 39.1], [115.9, 38.9]]]}, "properties": {"kind": "zone", "zone": "urban"}},
    ]
    write("geojson", "every_kind.geojson", json.dumps({"type": "FeatureCollection", "metadata": {}, "features": feats}, indent=1))


def opendss():
    root = os.path.join(DATA, "opendss", "IEEETestCases")
    read = lambda p: open(os.path.join(root, p), "rb").read()
    # Whole-line comments and blank lines go (the forms seed keeps comments), and the
    # 34 bus model keeps its first 60 commands: inputs of a few KB fuzz ten times faster.
    def lean(text, lines=None):
        kept = [l for l in text.splitlines() if l.strip() and not l.lstrip().startswith((b"!", b"//"))]
        return b"\n".join(kept[:lines]) + b"\n"
    m13 = lean(read("13Bus/IEEE13Nodeckt.dss")).replace(b"BusCoords IEEE13Node_BusXY.csv", b"BusCoords coords.csv")
    m13 = m13.replace(b"redirect IEEELineCodes.DSS", b"redirect codes.dss")
    write("opendss", "ieee13.dss", m13 + b"\0" + lean(read("IEEELineCodes.DSS"), 12) + b"\0" + read("13Bus/IEEE13Node_BusXY.csv"))
    m34 = lean(read("34Bus/ieee34Mod1.dss"), 60).replace(b"IEEELineCodes.DSS", b"codes.dss") + b"BusCoords coords.csv\n"
    # The line codes the 34 bus model uses (300–304), each with its `~` lines.
    blocks, codes = [], b""
    for line in lean(read("IEEELineCodes.DSS")).splitlines(keepends=True):
        if line.lstrip().startswith(b"~") and blocks:
            blocks[-1] += line
        else:
            blocks.append(line)
    codes = b"".join(b for b in blocks if any(b"linecode.%d " % n in b.lower() for n in range(300, 305)))
    write("opendss", "ieee34.dss", m34 + b"\0" + codes + b"\0" + read("34Bus/IEEE34_BusXY.csv"))
    write("opendss", "forms.dss", b"""Clear
New Circuit.c basekv=12.47 bus1=src pu=1.0 ~ phases=3
New LineCode.lc nphases=3 r1=0.1 x1=0.2 units=kft
New Line.L1 bus1=src.1.2.3 bus2=a linecode=lc length=1 units=kft
New Line.L2 like=L1 bus2=b
New Line.sw1 a c switch=y
New Transformer.T1 phases=1 windings=2 buses=[b.1 t1] kvs=[7.2 0.24] kvas=[25 25]
~ wdg=2 bus=t1 kv=0.24
New Load.ld t1 phases=1 kv=0.24 kw=5
New Fuse.F1 Line.L2 1
New Recloser.R1 MonitoredObj=Line.L1 MonitoredTerm=1
New Capacitor.cap1 bus1=a kvar=600
Edit Line.L1 length=(2 3 *)
Line.L2.length=0.5
Open Line.sw1 1
Disable Load.ld
Enable Load.ld
// a comment
Redirect codes.dss
BusCoords coords.csv
Solve
\0New LineCode.lc2 nphases=1
\0src, 0, 0
a, 100, 0
b 200 10
, 300, 300
""")


def events():
    import re

    src = open(os.path.join(HERE, "..", "src", "events.rs")).read()
    start = src.index("fn every_contract_example_parses")
    lines = re.findall(r'r#"(.*?)"#', src[start : src.index("] {", start)])
    for i, line in enumerate(lines):
        write("events", f"{i:02}_{json.loads(line)['type']}.json", line)
    write("events", "all.ndjson", "\n".join(lines) + "\n\n")
    write("events", "array.json", "[" + ",".join(lines[:4]) + "]")
    extra = [
        '{"type":"report","at":"2026-07-14T03:12:09.250+08:00","id":"R-1","customer":"C-1042","source":"call","problem":"no_power","note":"tree on line"}',
        '{"type":"report","at":"2026-07-14T03:12:09Z","id":"R-3","customer":"C-1","lon":-180,"lat":-90,"source":"ivr","problem":"partial_power","critical":false}',
    ]
    for i, line in enumerate(extra):
        write("events", f"extra{i}.json", line)


events()
geojson()
opendss()
