"""The ZooError hierarchy: every error a user can meet says what is wrong, what was received, and the fix."""

from __future__ import annotations

import errno
import os
import re


class ZooError(Exception):
    """Base class of every error this toolkit raises on purpose."""


class UnknownModel(ZooError, KeyError):
    """A model name that is not in the catalogue."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class BadOverride(ZooError, ValueError):
    """An override passed to `load` that the entry does not accept."""


class CatalogueError(ZooError):
    """The catalogue itself is inconsistent (duplicate names, malformed entries)."""


class ManifestError(ZooError):
    """weights_manifest.json is malformed: names the key and the field."""


class WeightsNotFound(ZooError, FileNotFoundError):
    """A weights file that is in no place looked at; lists the places and how to provide it."""


class BadData(ZooError, ValueError):
    """Training or evaluation data that cannot be used as given."""


class CorruptWeights(ZooError, ValueError):
    """A weights file whose size or hash differs from the manifest's: names the file, both values and the fix."""


class WeightsDoNotFit(ZooError, ValueError):
    """A weights file that does not load into the architecture, layer by layer: names the file and the model."""


class CacheNotWritable(ZooError, PermissionError):
    """The weights cache folder cannot be created or written: names the folder and the variable that moves it."""


class UnknownWeightsFile(ZooError, ValueError):
    """A file offered to `zoo weights import` that matches no manifest record by name or by hash."""


class ResumeMismatch(ZooError, ValueError):
    """A run asked to resume with settings or data that differ from the stopped run's: lists each difference."""


class UnknownMetric(ZooError, ValueError):
    """A competition metric name that zoo.kaggle does not know: lists the known ones."""


class OutputExists(ZooError, FileExistsError):
    """An output (a submission file, a run folder of another experiment) that would be replaced: says how to keep it."""


class BadDevice(ZooError, ValueError):
    """A device, precision or cluster setting that cannot be used here: names what was asked, what exists, the fix."""


class WorkerLost(ZooError, RuntimeError):
    """Another worker of a multi-worker run stopped or cannot be reached: says to read its output and restart all."""


class RunLocked(ZooError, RuntimeError):
    """Another process is writing the run folder."""


class BadModelFile(ZooError, ValueError):
    """A saved model file that is missing, truncated or not a model: names the file and what to do."""


class NotExplainable(ZooError, ValueError):
    """A model `zoo explain` cannot draw a heat map for (not an image classifier, no spatial feature map, no such
    class or layer): says what it is and what would work."""


class PackagingFailed(ZooError, RuntimeError):
    """A wheel `zoo kaggle bundle` could not build or download: names the package and the fix."""


class BrokenSeal(ZooError, ValueError):
    """A cached file that does not match the digest written with it (damaged, truncated, unfinished): rebuilt."""


class DamagedCheckpoint(ZooError, ValueError):
    """A run's newest checkpoint does not match its seals: names the file and how to resume from the previous one."""


# How libraries that raise their own exception types (HDF5 through h5py, TensorFlow, OpenVINO) report a full disk.
DISK_FULL_TEXT = re.compile(r"No space left on device|errno = 28\b|Disk quota exceeded|errno = 122\b")
REPORTED_FILE = re.compile(r"filename = '([^']+)'")  # HDF5 names the file it failed to write this way


def disk_full(error: BaseException) -> OSError | None:
    """A full disk (or used-up quota) behind `error` as an OSError naming the file, whether the system raised it or a
    library reported it in its own words and exception type; None for anything else."""
    if isinstance(error, ZooError):
        return None
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return error
    text = str(error)
    if not DISK_FULL_TEXT.search(text):
        return None
    code = errno.EDQUOT if "quota" in text or "errno = 122" in text else errno.ENOSPC
    named = REPORTED_FILE.search(text)
    return OSError(code, os.strerror(code), named.group(1) if named else getattr(error, "filename", None))


def os_refusal(error: BaseException) -> OSError | None:
    """The operating system's refusal behind `error` (a full disk, a read-only folder, a permission), or None: a
    ZooError says what is wrong itself, and anything else is not the machine's refusal."""
    full = disk_full(error)
    if full is not None:
        return full
    return error if isinstance(error, OSError) and not isinstance(error, ZooError) else None


def describe_os_error(error: OSError) -> str:
    """One line for an operating-system refusal: what failed, on which file, and what to do."""
    error = os_refusal(error) or error
    where = f" ({error.filename})" if error.filename else ""
    fixes = {
        errno.ENOSPC: "the disk is full: free space or point --out / $ZOO_CACHE_DIR elsewhere, then run it again",
        errno.EDQUOT: "the disk quota is used up: free space or point --out / $ZOO_CACHE_DIR elsewhere",
        errno.EROFS: "that file system is read-only: pick a writable --out",
        errno.EACCES: "permission denied: pick a folder you can write, or fix its permissions",
        errno.EPERM: "operation not permitted: pick a folder you can write",
        errno.ENOENT: "no such file or folder: check the path",
        errno.EISDIR: "a folder where a file was expected: check the path",
        errno.ENOTDIR: "a file where a folder was expected: check the path",
    }
    fix = fixes.get(error.errno, "the operating system refused it")
    return " ".join(f"{error.strerror or error}{where}: {fix}".split())  # libraries' messages may hold line breaks


# The install line for the optional KerasHub models (the hub family), named by every message that needs it.
HUB_EXTRA = "pip install 'zoo-keras[hub]'"
