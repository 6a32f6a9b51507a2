"""Team deployment costs: opening a workspace's store, reading membership, and an admin's import deletion.

- first open of a new workspace's store (create + every migration), and a later open of the same file;
- reading a membership file of `--members` addresses over 50 workspaces (done on every click with sign-in on);
- `delete_import` of an import of `--rows` usage rows (one transaction with its audit line), and a read of
  the trail afterwards.
Each is timed `--repeat` times; prints a table (median, max) and the machine's load; never asserts.
Run: python bench/bench_team.py [--rows 200000] [--members 5000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from costmodel.audit import audit_entries, delete_import  # noqa: E402
from costmodel.store import connect  # noqa: E402
from costmodel.usage import import_file  # noqa: E402
from costmodel.workspaces import load_membership, workspace_store_path  # noqa: E402


def _log(rows: int, offset: int) -> bytes:
    lines = ["timestamp,model,input_tokens,output_tokens,requests,provider,request_id"]
    for i in range(rows):
        day, sec = divmod(i, 86400)
        lines.append(
            f"2025-03-{1 + day % 28:02d}T{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}Z,gpt-4o,"
            f"{100 + i % 900},{10 + i % 90},1,openai,r{offset}-{i}"
        )
    return ("\n".join(lines) + "\n").encode()


def _ms(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="opentco-bench-team-"))
    root = tmp / "workspaces"
    results: dict[str, list[float]] = {"first open of a new workspace store": [], "open an existing store": []}
    for i in range(args.repeat):
        path = workspace_store_path(f"w{i}", root=root)
        results["first open of a new workspace store"].append(_ms(lambda p=path: connect(p).close()))
        results["open an existing store"].append(_ms(lambda p=path: connect(p).close()))

    members = tmp / "workspaces.toml"
    per = max(args.members // 50, 1)
    body = "\n".join(f"ws{w} = [" + ", ".join(f'"u{w}-{m}@example.com"' for m in range(per)) + "]" for w in range(50))
    members.write_text(f'admins = ["ops@example.com"]\nclaim = "groups"\n[workspaces]\n{body}\n')
    results[f"read a membership file ({50 * per:,} addresses)"] = [
        _ms(lambda: load_membership(members).workspaces_of(email="u49-0@example.com", claims={}))
        for _ in range(args.repeat)
    ]

    con = connect(workspace_store_path("big", root=root))
    deletes, trail = [], []
    for i in range(args.repeat):
        res = import_file(con, _log(args.rows, i), file_name=f"big-{i}.csv")
        deletes.append(
            _ms(lambda r=res: delete_import(con, import_id=r.import_id, who="ops@example.com", workspace="big"))
        )
        trail.append(_ms(lambda: audit_entries(con)))
    results[f"delete an import of {args.rows:,} rows (one transaction)"] = deletes
    results["read the audit trail"] = trail
    con.close()

    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    print(f"{'case':<55} {'median ms':>10} {'max ms':>10}")
    for name, values in results.items():
        print(f"{name:<55} {statistics.median(values):>10.1f} {max(values):>10.1f}")


if __name__ == "__main__":
    main()
