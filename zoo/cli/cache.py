"""`zoo cache verify`: every file of every cache folder hashed against what was recorded when it was made.

Weights (against the manifest, converted files against their seals), the runtime cache (converted models, cards,
OpenVINO's compiled models), the image stores and any feature-cache folder named with --folder: good, bad or
unsealed per folder, damaged files named with how to clear them; --repair removes them (each is rebuilt on next
use). A feature cache lives in a run's temporary folder and is checked when opened; it persists only where a run
was given a cache folder (zoo.finetune(cache_dir=...)).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

STATES = ("good", "bad", "unsealed", "removed", "trusted", "unverifiable", "missing")  # the order of the counts


def add_cache_parser(subparsers: Any) -> None:
    """Add `zoo cache verify` to the `zoo` parser's subparsers."""
    cache = subparsers.add_parser("cache", help="check zoo's caches: weights, runtime files, image stores")
    actions = cache.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    verify = actions.add_parser(
        "verify", help="hash every cached file against its seal; name damaged ones (exit 1 if any is bad)"
    )
    verify.add_argument("--json", action="store_true", help="print JSON")
    verify.add_argument("--repair", action="store_true", help="remove bad and unsealed files: rebuilt on next use")
    verify.add_argument(
        "--folder", type=Path, action="append", default=[], help="a feature-cache folder to check too (repeatable)"
    )
    verify.set_defaults(run=cmd_verify)


def cache_folders(extra: list[Path]) -> dict[str, Path]:
    """The folders zoo caches files in, by name."""
    from zoo.data.decoding.store import store_root
    from zoo.results.runtime_cache import runtime_folder

    folders = {"runtime": runtime_folder(), "images": store_root()}
    return {**folders, **{f"features {folder}": folder for folder in extra}}


def zoo_trees(name: str, folder: Path) -> list[Path]:
    """What of `folder` zoo wrote: in the image-store folder only the stores (other folders there are not zoo's)."""
    if name != "images":
        return [folder]
    from zoo.data.decoding.eviction import STORE_NAME

    return sorted(path for path in folder.iterdir() if STORE_NAME.fullmatch(path.name)) if folder.is_dir() else []


def folder_rows(name: str, folder: Path, repair: bool) -> list[dict]:
    """Each file of `folder` as a row: folder, state, path, detail; bad and unsealed ones removed when `repair`."""
    from zoo.data.decoding.eviction import remove_store
    from zoo.data.decoding.pixel_columns import check_pixel_folder
    from zoo.sealed import check_tree, remove_sealed

    rows = []
    for tree in zoo_trees(name, folder):
        if tree.name.startswith("pixels-"):  # checked as a whole, removed as a whole (written anew on next use)
            checks = check_pixel_folder(tree)
            gone = repair and any(check.state != "good" for check in checks) and remove_store(tree)
            rows += [row_of(name, check, "removed" if gone else check.state) for check in checks]
            continue
        for check in check_tree(tree):
            state = check.state
            if repair and state != "good":
                remove_sealed(check.path)
                state = "removed" if not check.path.exists() else state
            rows.append(row_of(name, check, state))
    return rows


def row_of(name: str, check: Any, state: str) -> dict:
    return {"folder": name, "state": state, "path": str(check.path), "detail": check.detail}


def weights_rows() -> list[dict]:
    """The weights cache as rows, from `zoo weights verify`'s checks (bad weights are never removed here)."""
    from zoo.weights.cache import verify_cache

    return [
        {"folder": "weights", "state": c.state, "path": str(c.path or c.file), "detail": c.detail}
        for c in verify_cache()
    ]


def cmd_verify(args: argparse.Namespace) -> int:
    rows = weights_rows()
    for name, folder in cache_folders(args.folder).items():
        rows += folder_rows(name, folder, args.repair)
    if args.json:
        print(json.dumps(rows))
        return 1 if any(row["state"] == "bad" for row in rows) else 0
    folders = {"weights": None, **cache_folders(args.folder)}
    for name, folder in folders.items():
        mine = [row for row in rows if row["folder"] == name]
        counts = {state: sum(row["state"] == state for row in mine) for state in STATES}
        summary = ", ".join(f"{count} {state}" for state, count in counts.items() if count) or "empty"
        print(f"{name:<9} {summary}" + (f"  ({folder})" if folder else ""))
        for row in mine:
            if row["state"] in ("bad", "unsealed", "removed"):
                print(f"    {row['state']}: {row['path']}\n      {row['detail']}".rstrip())
    damaged = [row for row in rows if row["state"] in ("bad", "unsealed") and row["folder"] != "weights"]
    if damaged:
        print(
            f"{len(damaged)} damaged or unfinished cached file(s): `zoo cache verify --repair` removes them (each is "
            "rebuilt on next use), or delete them by hand with their .seal files"
        )
    return 1 if any(row["state"] == "bad" for row in rows) else 0
