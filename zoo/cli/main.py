"""The `zoo` command line. Listing and --help never import TensorFlow; each command imports what it needs."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from zoo.catalogue import default_catalogue
from zoo.cli.cache import add_cache_parser
from zoo.cli.catalogue_table import format_params, markdown_table
from zoo.cli.doctor import add_doctor_parser
from zoo.cli.embed import add_embed_parser
from zoo.cli.explain import add_explain_parser
from zoo.cli.finetune import add_finetune_parser
from zoo.cli.kaggle import add_kaggle_parser
from zoo.cli.predict import add_predict_parser
from zoo.cli.weights import add_weights_parser
from zoo.entry import FAMILIES
from zoo.errors import HUB_EXTRA, ZooError, describe_os_error, os_refusal
from zoo.hardware.devices import quiet_tensorflow_when_imported
from zoo.version import __version__

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
# The guide (docs/, in the repository and on the site) each command's --help points to.
GUIDES = {
    "list": "classify.md",
    "info": "classify.md",
    "env": "troubleshooting.md",
    "predict": "predict.md",
    "embed": "classify.md",
    "explain": "finetune.md",
    "doctor": "data.md",
    "weights": "weights.md",
    "cache": "trust.md",
    "finetune": "finetune.md",
    "lr-find": "finetune.md",
    "kaggle": "kaggle.md",
}
TENSORFLOW_COMMANDS = frozenset({"finetune", "lr-find", "kaggle", "explain"})  # these train or run Keras models


def cmd_list(args: argparse.Namespace) -> int:
    catalogue = default_catalogue()
    entries = [catalogue.get(name) for name in catalogue.names(family=args.family, task=args.task)]
    if args.markdown:
        print(markdown_table(entries))
        return 0
    if args.json:
        rows = [{"name": e.name, "family": e.family, "task": e.task, "params": e.params} for e in entries]
        print(json.dumps(rows))
        return 0
    width = max((len(e.name) for e in entries), default=4)
    for e in entries:
        print(f"{e.name:<{width}}  {e.family:<11}  {e.task:<20}  {format_params(e.params):>7}")
    if any(e.family == "hub" for e in entries) and importlib.util.find_spec("keras_hub") is None:
        print(f"(hub models need the extra: {HUB_EXTRA})", file=sys.stderr)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    entry = default_catalogue().get(args.name)
    data = entry.describe()
    if args.json:
        print(json.dumps(data))
        return 0
    width = max(len(key) for key in data)
    for key, value in data.items():
        print(f"{key:<{width}}  {value}")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    from zoo.cli.env import clear_image_stores, environment_report, render

    if args.clear_image_store:
        return clear_image_stores()
    report = environment_report(with_devices=not args.no_devices)
    print(json.dumps(report) if args.json else render(report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoo",
        description="A Keras 3 model zoo and transfer-learning toolkit.",
        epilog="guides: docs/ (start with README.md); `zoo COMMAND --help` names the one for each command",
    )
    parser.add_argument("--version", action="version", version=f"zoo {__version__}")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's native start-up logs (silenced by default; or set TF_CPP_MIN_LOG_LEVEL yourself)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = sub.add_parser("list", help="list the catalogue: name, family, task, parameters")
    listing.add_argument("--family", choices=FAMILIES, help="only this family")
    listing.add_argument("--task", help="only this task (classification, regression, reconstruction, ...)")
    listing.add_argument("--json", action="store_true", help="a JSON list of {name, family, task, params}")
    listing.add_argument("--markdown", action="store_true", help="a Markdown table (docs/catalogue.md's)")
    listing.set_defaults(run=cmd_list)

    info = sub.add_parser("info", help="everything the catalogue knows about one model")
    info.add_argument("name", help="a catalogue name (see `zoo list`)")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(run=cmd_info)

    env = sub.add_parser("env", help="versions, devices and settings for a bug report")
    env.add_argument("--json", action="store_true", help="print JSON")
    env.add_argument("--no-devices", action="store_true", help="skip the device list (does not import TensorFlow)")
    env.add_argument(
        "--clear-image-store", action="store_true", help="remove every finished image store (decoded images)"
    )
    env.set_defaults(run=cmd_env)

    add_predict_parser(sub)
    add_embed_parser(sub)
    add_explain_parser(sub)
    add_doctor_parser(sub)
    add_weights_parser(sub)
    add_cache_parser(sub)
    add_finetune_parser(sub)
    add_kaggle_parser(sub)
    point_to_guides(sub)
    return parser


def point_to_guides(sub: argparse._SubParsersAction) -> None:
    """Each command's --help (and each `zoo kaggle` or `zoo weights` action's) ends with the guide that explains it."""
    for name, command in sub.choices.items():
        guide = f"guide: docs/{GUIDES.get(name, 'index.md')}"  # a command missing from GUIDES fails a test, not the CLI
        command.epilog = guide
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_command in action.choices.values():
                    sub_command.epilog = guide


def imports_tensorflow(args: argparse.Namespace) -> bool:
    """Whether the command imports TensorFlow (then quietly, first): training and Keras commands, `env`'s devices.
    predict and embed import it only on the runtime's cold path, which silences it itself (zoo.results.runtime)."""
    if args.command == "env":
        return not (args.no_devices or args.clear_image_store)
    if args.command == "weights":
        return bool(getattr(args, "trust", False))  # import --trust loads the file into its architecture
    return args.command in TENSORFLOW_COMMANDS


def second_ctrl_c_stops_at_once() -> None:
    """The first Ctrl-C raises KeyboardInterrupt (the run saves nothing half-way: checkpoints are renamed into place,
    and says how to go on); a second one while that unwinds exits at once with 130. Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        return
    pressed = []

    def on_interrupt(signum: int, frame: Any) -> None:
        if pressed:
            os._exit(EXIT_INTERRUPTED)  # nothing half-written is left: every file zoo writes is renamed into place
        pressed.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_interrupt)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `zoo` console script: a user's mistake or the machine's refusal (disk full, read-only
    folder, permissions) prints one `zoo: error:` line and exits 2, never a traceback."""
    args = build_parser().parse_args(argv)
    if imports_tensorflow(args) and not args.verbose:
        quiet_tensorflow_when_imported()  # imported only when needed: the door checks run without it
    second_ctrl_c_stops_at_once()
    try:
        return args.run(args)
    except ZooError as error:
        print(f"zoo: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nzoo: {args.command} interrupted (Ctrl-C)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `zoo list | head`: the reader left; stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:  # the machine's refusal, also in a library's words (HDF5, TensorFlow): one line
        refusal = os_refusal(error)
        if refusal is None:
            raise
        print(f"zoo: error: {describe_os_error(refusal)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
