"""`zoo weights list|import|remove|verify|path`: the weights files from the command line. Only `import --trust`
imports TensorFlow: it checks that the file loads into its key's architecture before storing it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from zoo.errors import ZooError


def add_weights_parser(subparsers: Any) -> None:
    """Add the `weights` command and its actions to the `zoo` parser's subparsers."""
    weights = subparsers.add_parser(
        "weights",
        help="list, import, verify and locate pretrained weights files",
        description="Weights are looked for in $ZOO_WEIGHTS_DIR, the cache ($ZOO_CACHE_DIR/weights or the user "
        "cache folder), installed packages, then downloaded (never with ZOO_OFFLINE=1).",
    )
    actions = weights.add_subparsers(dest="weights_command", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--manifest", type=Path, help="a weights manifest file other than the packaged one")

    listing = actions.add_parser(
        "list", parents=[common], help="every known file: its state, size, and whether it is here for offline use"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=cmd_list)

    importing = actions.add_parser(
        "import", parents=[common], help="check files against the manifest and copy them into the cache"
    )
    importing.add_argument("files", nargs="+", type=Path, metavar="FILE", help="weights files you downloaded")
    importing.add_argument("--as", dest="as_key", metavar="KEY", help="the key the one FILE is for (resnet50.top)")
    importing.add_argument(
        "--trust",
        action="store_true",
        help="FILE is your own weights for KEY's architecture: import it unverified (its sha256 is recorded)",
    )
    importing.set_defaults(run=cmd_import)

    removing = actions.add_parser(
        "remove", parents=[common], help="remove the cache's copy of a key's file (an import, a download)"
    )
    removing.add_argument("key", metavar="KEY", help="the key whose cached file goes, e.g. efficientnet_lite0.top")
    removing.set_defaults(run=cmd_remove)

    verify = actions.add_parser(
        "verify", parents=[common], help="re-hash every local weights file and converted file (exit 1 if bad)"
    )
    verify.add_argument("--json", action="store_true", help="print JSON")
    verify.set_defaults(run=cmd_verify)

    path = actions.add_parser(
        "path", parents=[common], help="print the path of a weights file, downloading it if need be"
    )
    path.add_argument("name", help="a key such as resnet50.notop, or a model name (its .top file)")
    path.add_argument("--offline", action="store_true", default=None, help="never download (as ZOO_OFFLINE=1)")
    path.set_defaults(run=cmd_path)


def _manifest(args: argparse.Namespace):
    from zoo.weights.manifest import load_manifest

    return load_manifest(args.manifest)


def _megabytes(size: int | None) -> str:
    return f"{size / 1e6:.1f} MB" if size else "?"


def cmd_list(args: argparse.Namespace) -> int:
    from zoo.weights.cache import weights_status
    from zoo.weights.resolve import cache_dir

    rows = weights_status(manifest=_manifest(args))
    if args.json:
        print(json.dumps([{**vars(row), "path": str(row.path) if row.path else None} for row in rows]))
        return 0
    print(f"# cache: {cache_dir()}")
    print("# offline: 'yes' where the file is here (cached, in $ZOO_WEIGHTS_DIR or in an installed package)")
    width = max((len(row.key) for row in rows), default=3)
    for row in rows:
        where = f"{row.where}: {row.path}" if row.path else "-"
        offline = "no" if row.path is None else "yes"
        print(f"{row.key:<{width}}  {row.state:<8}  {_megabytes(row.bytes):>9}  offline {offline:<3}  {where}")
    print_hub_presets()
    here = sum(row.path is not None for row in rows)
    print(f"{here} of {len(rows)} files available offline")  # last, as scripts read it
    return 0


def print_hub_presets() -> None:
    """The hub family's presets: a local preset folder under $ZOO_WEIGHTS_DIR, or keras_hub's fetch on first use."""
    from zoo.catalogue import default_catalogue
    from zoo.weights.hub_presets import preset_folder

    entries = [default_catalogue().get(name) for name in default_catalogue().names(family="hub")]
    print("# KerasHub presets (hub models): offline 'yes' where $ZOO_WEIGHTS_DIR/<preset>/ holds the preset folder; "
          "else keras_hub fetches it on first use")
    width = max((len(entry.hparams["preset"]) for entry in entries), default=6)
    for entry in entries:
        folder = preset_folder(entry.hparams["preset"])
        where = f"weights_dir: {folder}" if folder else "-"
        print(f"{entry.hparams['preset']:<{width}}  preset    offline {'yes' if folder else 'no ':<3}  {where}")


def cmd_import(args: argparse.Namespace) -> int:
    from zoo.weights.cache import import_weights

    if args.trust and args.as_key is not None and len(args.files) == 1:
        from zoo.loading.pretrained import check_own_weights  # the one import path that needs TensorFlow

        check_own_weights(args.as_key, args.files[0], _manifest(args))  # before anything is stored
    for imported in import_weights(args.files, manifest=_manifest(args), as_key=args.as_key, trust=args.trust):
        print(f"imported {imported.source} as {', '.join(imported.keys)} -> {imported.path}")
        if imported.trusted:
            print(
                f"  unverified: your own weights, not the published file (sha256 {imported.trusted} recorded; "
                "zoo checks it loads into the architecture layer by layer, and refuses it if it changes)"
            )
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from zoo.weights.cache import remove_cached

    removed = remove_cached(args.key, manifest=_manifest(args))
    for path in removed:
        print(f"removed {path}")
    if not removed:
        print(f"zoo's cache holds no file for {args.key}: nothing removed")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from zoo.weights.cache import verify_cache

    checks = verify_cache(manifest=_manifest(args))
    if args.json:
        print(json.dumps([{**vars(check), "path": str(check.path) if check.path else None} for check in checks]))
    else:
        width = max((len(check.key) for check in checks), default=3)
        for check in checks:
            print(f"{check.state:<12}  {check.key:<{width}}  {check.path or '-'}")
            if check.state in ("bad", "trusted"):
                print(f"    {check.detail.replace(chr(10), chr(10) + '    ')}")
        states = ("good", "bad", "trusted", "unverifiable", "missing")
        counts = {state: sum(c.state == state for c in checks) for state in states}
        print(", ".join(f"{count} {state}" for state, count in counts.items()))
    return 1 if any(check.state == "bad" for check in checks) else 0


def cmd_path(args: argparse.Namespace) -> int:
    from zoo.weights.resolve import resolve_weights

    try:
        print(resolve_weights(args.name, manifest=_manifest(args), offline=args.offline))
    except ZooError as error:
        print(f"zoo: error: {error}", file=sys.stderr)
        return 2
    return 0
