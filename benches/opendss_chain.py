#!/usr/bin/env python3
"""A long radial OpenDSS line chain, for `faultline import`'s time and memory.

Writes MASTER (and `chain_xy.csv` beside it): a 12.47 kV source, SEGMENTS line
segments in one chain (each 100 ft, its bus 100 ft east of the last), a fused lateral
with a 25 kVA transformer and one load every 50 segments, and BusCoords for every bus.
The model is as flat as a model gets: memory should grow with it, linearly
(BENCHMARKS.md, "OpenDSS import of a 200,000-segment chain").

    python3 benches/opendss_chain.py /tmp/chain/Master.dss 200000
    /usr/bin/time -v target/release/faultline import --opendss /tmp/chain/Master.dss \\
        --place-at -84.39,33.75 -o /tmp/chain/chain.geojson
"""

import os
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    master, segments = sys.argv[1], int(sys.argv[2])
    folder = os.path.dirname(os.path.abspath(master))
    os.makedirs(folder, exist_ok=True)
    with open(master, "w") as dss, open(os.path.join(folder, "chain_xy.csv"), "w") as xy:
        dss.write("Clear\nNew Circuit.chain basekv=12.47 bus1=src\n")
        dss.write("New LineCode.ohd nphases=3 units=kft\n")
        xy.write("src,0,0\n")
        previous = "src"
        for k in range(1, segments + 1):
            bus = f"b{k}"
            dss.write(
                f"New Line.l{k} bus1={previous} bus2={bus} linecode=ohd length=0.1 units=kft\n"
            )
            xy.write(f"{bus},{k * 100},0\n")
            if k % 50 == 0:
                dss.write(
                    f"New Line.lat{k} bus1={bus} bus2={bus}_t phases=1 length=20 units=ft\n"
                    f"New Fuse.f{k} MonitoredObj=Line.lat{k} MonitoredTerm=1\n"
                    f"New Transformer.t{k} phases=1 windings=2 buses=[{bus}_t {bus}_lv] "
                    f"kvs=[7.2 0.24] kvas=[25 25]\n"
                    f"New Load.c{k} bus1={bus}_lv phases=1 kv=0.24 kw=3\n"
                )
                xy.write(f"{bus}_t,{k * 100},20\n{bus}_lv,{k * 100},40\n")
            previous = bus
        dss.write("BusCoords chain_xy.csv\n")


if __name__ == "__main__":
    main()
