"""Every AWS table from moto_server for one account and 3 regions, into SQLite.

Run: python benchmarks/bench_aws.py [--vpcs N]

Starts moto_server (with the test-only CloudTrail extension), creates N VPCs with a subnet
and a security group in each region plus IAM users, then times ``syncline sync`` of
``tables: ["*"]`` in its own process and prints seconds, rows, rows/s and peak memory (max
RSS of the sync process). Tables moto does not implement fail fast and are counted as errors.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).parent.parent
REGIONS = ["us-east-1", "us-west-2", "eu-west-1"]
CONFIG = """\
kind: source
spec:
  name: aws
  path: cloudquery/aws
  tables: ["*"]
  destinations: [sqlite]
  spec:
    regions: {regions}
    concurrency: 8
    max_retries: 0
---
kind: destination
spec:
  name: sqlite
  path: cloudquery/sqlite
  spec:
    connection_string: ./bench.sqlite
"""


def start_moto(port: int) -> subprocess.Popen[bytes]:
    script = ROOT / "tests" / "aws" / "moto_cloudtrail.py"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("moto_server did not start")


def create(vpcs: int) -> None:
    import boto3

    for region in REGIONS:
        ec2 = boto3.client("ec2", region_name=region)
        for i in range(vpcs):
            vpc = ec2.create_vpc(CidrBlock=f"10.{i % 250}.0.0/16")["Vpc"]["VpcId"]
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{i % 250}.1.0/24")
            ec2.create_security_group(GroupName=f"sg{i}", Description="bench", VpcId=vpc)
    iam = boto3.client("iam")
    for i in range(vpcs):
        iam.create_user(UserName=f"user{i}")
        iam.create_access_key(UserName=f"user{i}")


def child(config: str) -> None:
    """Run in its own process: sync, then report time and peak memory as JSON."""
    from syncline.cli.main import main

    start = time.perf_counter()
    code = main(["--no-log-file", "sync", config, "--summary-location", "summary.jsonl"])
    seconds = time.perf_counter() - start
    summary = json.loads(Path("summary.jsonl").read_text().splitlines()[-1])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    failed = sum(1 for n in summary["errors_per_table"].values() if n)
    print(
        json.dumps(
            {
                "code": code,
                "seconds": seconds,
                "rows": summary["resources"],
                "tables": len(summary["source_tables"]),
                "failed_tables": failed,
                "peak_mb": peak_mb,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vpcs", type=int, default=20)
    parser.add_argument("--child", default="")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    from syncline.testing.postgres import free_port

    port = free_port()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }
    os.environ.update(env)
    moto = start_moto(port)
    try:
        create(args.vpcs)
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "bench.yml"
            config.write_text(CONFIG.format(regions=json.dumps(REGIONS)))
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(config)],
                cwd=tmp, env=env, capture_output=True, text=True,
            )  # fmt: skip
            if out.returncode != 0:
                raise SystemExit(f"sync failed:\n{out.stdout}\n{out.stderr}")
            r = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        moto.terminate()
        moto.wait(timeout=10)
    print(f"every AWS table, 1 account x {len(REGIONS)} regions, from moto_server")
    print(f"{'tables':>7} {'failed':>7} {'rows':>8} {'seconds':>8} {'rows/s':>8} {'peak MB':>8}")
    print(
        f"{r['tables']:>7} {r['failed_tables']:>7} {r['rows']:>8} {r['seconds']:>8.1f} "
        f"{r['rows'] / r['seconds']:>8.0f} {r['peak_mb']:>8.0f}"
    )


if __name__ == "__main__":
    main()
