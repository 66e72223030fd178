"""Benchmark: durable webhook callbacks per second and p99 latency on loopback.

Starts `smslab serve` twice as a separate process on 127.0.0.1 — the baseline with one fsync
per request (max_batch=1), then the product's group commit — and drives each with the same
asyncio client (keep-alive connections posting Infobip delivery reports) for a bounded number
of requests. After each run it checks that every acknowledged callback is in the journal.

    .venv/bin/python bench/webhooks.py [--requests 20000] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVER = """
import sys
from smslab.receiving.webhooks import serve
serve(host="127.0.0.1", port=int(sys.argv[1]), landing=sys.argv[2], max_batch=(int(sys.argv[3]) or None))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def body(i: int) -> bytes:
    return json.dumps(
        {
            "results": [
                {
                    "messageId": f"bench-{i}",
                    "to": "33612345678",
                    "doneAt": "2026-12-01T14:00:05.000+0000",
                    "smsCount": 1,
                    "status": {"groupId": 3, "groupName": "DELIVERED", "id": 5, "name": "DELIVERED_TO_HANDSET"},
                }
            ]
        }
    ).encode()


async def client(port: int, ids: list[int], latencies: list[float], acked: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for i in ids:
        payload = body(i)
        request = (
            f"POST /infobip/dlr HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        if length:
            await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        if head.startswith(b"HTTP/1.1 200"):
            acked.append(i)
    writer.close()


def run(label: str, max_batch: int, requests: int, connections: int) -> dict:
    port, landing = free_port(), tempfile.mkdtemp(prefix="smslab-bench-")
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), landing, str(max_batch)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        latencies: list[float] = []
        acked: list[int] = []
        ids = list(range(requests))

        async def main() -> None:
            await asyncio.gather(*(client(port, ids[c::connections], latencies, acked) for c in range(connections)))

        started = time.perf_counter()
        asyncio.run(main())
        elapsed = time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    stored = {
        json.loads(json.loads(line)["body"])["results"][0]["messageId"]
        for path in Path(landing).glob("*/*/*.jsonl")
        for line in path.read_text().splitlines()
    }
    lost = [i for i in acked if f"bench-{i}" not in stored]
    latencies.sort()
    result = {
        "label": label,
        "requests": requests,
        "acked": len(acked),
        "lost": len(lost),
        "per_second": len(acked) / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1],
    }
    print(
        f"{label:<34} {result['per_second']:>8.0f} callbacks/s   p50 {result['p50_ms']:6.1f} ms   "
        f"p99 {result['p99_ms']:6.1f} ms   acked {len(acked)}   lost {len(lost)}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    baseline = run("baseline: one fsync per request", 1, max(2000, args.requests // 5), args.connections)
    grouped = run("smslab serve: group commit", 0, args.requests, args.connections)
    print(
        f"ratio (group commit / baseline): {grouped['per_second'] / baseline['per_second']:.1f}x   "
        f"targets: >= 2000/s, p99 <= 50 ms, zero loss"
    )


if __name__ == "__main__":
    main()
