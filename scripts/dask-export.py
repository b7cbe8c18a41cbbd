#!/usr/bin/python3
"""Export many captures with tcplens on a Dask cluster, into one dataset.

Each capture point (a directory of its rotated files, or one file) is
split into --shards shards by tcplens's flow hash; every (capture point,
shard) pair is one task, which a worker runs as

    tcplens export --sensor SENSOR --shard K/N -o OUTPUT FILE...

with all the capture point's files, so that tcplens merges them in time
order and connections that span rotated files come out whole. The tasks
write disjoint files into OUTPUT, whose union is what one tcplens export
of each capture point writes.

The workers run tcplens themselves: the binary (--tcplens) and the
captures must be at the same paths on every worker, and OUTPUT must be one
directory they all write to (a shared file system; for object storage,
a mount of the bucket, such as s3fs or gcsfuse). Run it with Debian's
python3-distributed:

    dask-scheduler --host 10.0.0.1                      # on the scheduler
    dask-worker tcp://10.0.0.1:8786 --nthreads 1        # on each worker
    /usr/bin/python3 scripts/dask-export.py --scheduler tcp://10.0.0.1:8786 \\
        --tcplens /shared/bin/tcplens --shards 8 -o /shared/tcplens \\
        /shared/pcaps/edge1 /shared/pcaps/edge2
"""

import argparse
import os
import subprocess
import sys
import time

from distributed import Client

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz")


def capture_groups(paths, sensor):
    """Each path is a capture point: a directory's capture files, sorted by
    name (rotation order; tcplens merges them by timestamp anyway), or one
    file. The sensor is --sensor, or the directory's name."""
    groups = []
    for p in paths:
        p = os.path.abspath(p)
        if os.path.isdir(p):
            files = sorted(
                os.path.join(p, f) for f in os.listdir(p)
                if f.endswith(CAPTURE_SUFFIXES) and not f.startswith("."))
            if not files:
                sys.exit(f"dask-export: {p}: no capture files")
            name = os.path.basename(p.rstrip("/"))
        elif os.path.isfile(p):
            files = [p]
            name = os.path.basename(os.path.dirname(p))
        else:
            sys.exit(f"dask-export: {p}: no such file or directory")
        groups.append((sensor or sanitize(name), files))
    return groups


def sanitize(name):
    """A sensor name tcplens accepts: letters, digits, '.', '_', '-'."""
    out = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return out.lstrip(".") or "unknown"


def export_task(tcplens, output, fmt, segments, sensor, shard, shards, files):
    """Run on a worker: one capture point's files, one shard."""
    cmd = [tcplens, "export", "--format", fmt, "--sensor", sensor,
           "--shard", f"{shard}/{shards}", "-o", output]
    if segments:
        cmd.append("--segments")
    cmd += files
    started = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {res.returncode}: {res.stderr.strip()}")
    return sensor, shard, time.monotonic() - started, res.stderr.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scheduler", required=True, help="the Dask scheduler's address, tcp://HOST:PORT")
    ap.add_argument("-o", "--output", required=True, help="the dataset's directory, shared by every worker")
    ap.add_argument("--tcplens", default="tcplens", help="the tcplens binary, at this path on every worker")
    ap.add_argument("--shards", type=int, default=1, help="shards per capture point (default 1)")
    ap.add_argument("--format", default="parquet", choices=["parquet", "jsonl"])
    ap.add_argument("--segments", action="store_true", help="also write the segments table")
    ap.add_argument("--sensor", help="the sensor of every capture point (default: each directory's name)")
    ap.add_argument("--workers", type=int, default=0, help="wait for this many workers before starting")
    ap.add_argument("captures", nargs="+", help="capture points: directories of rotated files, or files")
    args = ap.parse_args()
    if args.shards < 1:
        sys.exit("dask-export: --shards must be at least 1")

    groups = capture_groups(args.captures, args.sensor)
    output = os.path.abspath(args.output)
    with Client(args.scheduler) as client:
        if args.workers:
            client.wait_for_workers(args.workers, timeout=120)
        futures = [
            client.submit(export_task, args.tcplens, output, args.format, args.segments,
                          sensor, k, args.shards, files, pure=False, key=f"tcplens-{i}-{sensor}-{k}of{args.shards}")
            for i, (sensor, files) in enumerate(groups)
            for k in range(args.shards)
        ]
        failed = 0
        for f in futures:
            try:
                sensor, shard, took, warnings = f.result()
            except Exception as e:  # a task's failure: report it, go on with the others
                failed += 1
                print(f"dask-export: {f.key}: {e}", file=sys.stderr)
                continue
            print(f"{sensor} shard {shard}/{args.shards}: {took:.2f} s")
            if warnings:
                print(warnings, file=sys.stderr)
    if failed:
        sys.exit(f"dask-export: {failed} of {len(futures)} tasks failed")


if __name__ == "__main__":
    main()
