"""Where a command may write, and how: output checks before the work, atomic writes, folders made and removed.

A command checks its output first (:func:`check_output`: a name the file system can hold, no run's own
file, no input, a writable place), so that it fails in one line before its work; then it writes through
:func:`atomic_path` or :func:`atomic_dir`, so that a crash or a full disk leaves no half-written file
behind. Every writer of the library goes through these.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

from .errors import I2VError

# What a run folder holds (i2vlib.train and i2vlib.checkpoint name them; outputs sits below both): no writer may
# replace them.
RUN_OWN = ("checkpoint.pt", "losses.csv", "run.json")
SNAPSHOTS = "snapshots"
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)   # a disk or quota that is full: the write fails, not the input
# The longest addition to a name while it is written: atomic_path's ``.NAME.XXXXXXXX`` + suffix, atomic_dir's
# ``.NAME.writing-XXXXXXXX``.
_TEMPORARY = {"file": 10, "folder": 18}


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    A crash or an exception inside the block leaves no half-written ``path`` behind.
    """
    path = Path(path)
    if _kind_of(path) not in (None, "file"):
        raise I2VError(f"cannot write {path}: it is {_kind_of(path)}, not a plain file")
    created = make_folders(path.parent, path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    except OSError as e:
        remove_created(created)
        raise I2VError(f"cannot write {_short(path)}: {e.strerror or e}") from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        remove_created(created)
        _raise_if_full(e, path)
        raise


@contextlib.contextmanager
def atomic_dir(path):
    """Yield a temporary folder beside ``path``; swap it onto ``path`` only on success.

    An existing ``path`` is replaced whole, and restored if the swap fails; an exception
    inside the block leaves ``path`` as it was and removes the temporary folder.
    """
    path = Path(path)
    created = make_folders(path.parent, path)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.writing-", dir=path.parent))
    except OSError as e:
        remove_created(created)
        raise I2VError(f"cannot write {_short(path)}: {e.strerror or e}") from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 folders
        if not path.exists():
            os.rename(tmp, path)
            return
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
        try:
            os.rename(path, old / "x")
        except BaseException:
            old.rmdir()              # nothing moved: leave no empty ``.old-`` folder behind
            raise
        try:
            os.rename(tmp, path)
        except BaseException:
            os.rename(old / "x", path)
            raise
        shutil.rmtree(old, ignore_errors=True)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_created(created)
        _raise_if_full(e, path)
        raise


def _raise_if_full(e: BaseException, path) -> None:
    """A write that failed because the disk (or the quota) is full is one line naming the file, not a traceback."""
    if isinstance(e, OSError) and e.errno in _FULL:
        raise I2VError(f"cannot write {_short(path)}: {e.strerror}") from None


def make_folders(folder, target=None) -> list[Path]:
    """Create ``folder`` and its missing parents; returns those created, outermost first, so that a
    failed write can remove them again (:func:`remove_created`) and leave nothing behind. ``target``
    is what the folders are for, named in the one-line error."""
    folder = Path(folder)
    _, missing = _nearest_folder(folder, target or folder)
    created = []
    try:
        for f in missing:
            try:
                f.mkdir()
            except FileExistsError:
                if f.is_dir():   # made meanwhile by another process (runs trained side by side): not ours
                    continue
                raise
            created.append(f)
    except OSError as e:
        remove_created(created)
        raise I2VError(f"cannot write {target or folder}: {e.strerror or e}") from None
    return created


def _nearest_folder(path: Path, target) -> tuple[Path, list[Path]]:
    """The nearest existing folder at or above ``path``, and the missing ones below it down to ``path``
    (outermost first); an existing file on the way is one line naming ``target``."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    if not path.is_dir():
        raise I2VError(f"cannot write {target}: {path} is a file, not a folder")
    return path, missing[::-1]


def remove_created(folders) -> None:
    """Remove the folders :func:`make_folders` created, innermost first, where they are still empty."""
    for folder in reversed(list(folders)):
        with contextlib.suppress(OSError):
            folder.rmdir()


def check_replaceable(root, overwrite: bool) -> Path:
    """A folder a writer may fill: absent, empty, or replaced because ``overwrite`` says so (and one that
    :func:`check_output` accepts as a folder)."""
    root = check_output(root, "folder")
    if root.exists() and not root.is_dir():
        raise I2VError(f"{root} exists and is not a folder")
    if root.exists() and any(root.iterdir()) and not overwrite:
        raise I2VError(f"{root} exists and is not empty; replace it with --overwrite (overwrite=True in Python)")
    return root


def check_output(path, kind: str = "file", inputs=()) -> Path:
    """Check before any work that ``path`` can be written without harm, so that a command fails at once, in
    one line, instead of after its work or after destroying something: ``kind`` is ``"file"`` (replaced
    atomically) or ``"folder"`` (filled, or replaced whole). Every command and every writer of the API checks
    its output here. Refused:

    * a name the file system cannot hold: a part longer than its limit, with room for the temporary name
      an atomic write gives it (:data:`_TEMPORARY`), or a path longer than the system's;
    * a folder (or a name ending in ``/``, or ``''``) where a file is meant, a file where a folder is;
    * what the user did not ask to replace: a file that is not a plain file (a device, a pipe), the own files
      of a run (:data:`RUN_OWN` beside a ``checkpoint.pt``, its snapshots) whether they exist yet or not, any
      checkpoint, the command's ``inputs``; as a folder, the current folder or one that holds it (a writer
      replaces its folder whole), and a folder that holds a run;
    * a place where nothing can be created: the nearest existing folder above ``path`` (and an existing output
      folder itself) is probed by creating and removing a temporary file there.
    """
    text = str(path)
    shown = _short(text) if text else "''"
    path = check_name(path, kind)
    if kind == "file" and (os.path.isdir(path) or text.endswith(("/", os.sep)) or not text):
        raise I2VError(f"{shown} is {'the current folder' if not text else 'a folder'}; give a file name")
    found = _kind_of(path)
    if found not in (None, kind):
        found = {"file": "a file", "folder": "a folder"}.get(found, found)
        raise I2VError(f"{shown} is {found}; give {'a folder' if kind == 'folder' else 'a file name'}")
    _check_not_owned(path, shown, kind, inputs)
    parent, _ = _nearest_folder(path.parent, path)
    for folder in (parent, path) if kind == "folder" and path.is_dir() else (parent,):
        try:
            fd, probe = tempfile.mkstemp(prefix=".i2v-probe-", dir=folder)
            os.close(fd)
            os.unlink(probe)
        except OSError as e:
            raise I2VError(f"cannot write {shown}: {folder} is not writable ({e.strerror or e})") from None
    return path


def _kind_of(path: Path) -> str | None:
    """``"file"``, ``"folder"``, what else ``path`` is ("a device", ...), or None where nothing is."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    return ("a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a pipe" if stat.S_ISFIFO(mode)
            else "a socket") + ", not a regular file"


def check_name(path, kind: str = "file") -> Path:
    """``path`` when every part of it fits the file system's limit on a name, the last with room for the temporary
    name an atomic write of ``kind`` gives it; else one line. Part of :func:`check_output`, and called alone where
    another check must look at the path first (looking at a name too long for the system is an OSError)."""
    path = Path(path)
    try:
        parts = [os.fsencode(p) for p in path.parts]
        whole = os.fsencode(os.path.abspath(path))
    except (UnicodeEncodeError, ValueError):
        raise I2VError(f"cannot write {_short(path)}: the name cannot be written in this system's encoding") from None
    if b"\0" in whole:
        raise I2VError(f"cannot write {_short(path)}: the name holds a NUL character")
    name_max, path_max = _limits(path)
    for i, part in enumerate(parts):
        room = _TEMPORARY[kind] + len(os.fsencode(path.suffix)) * (kind == "file") if i == len(parts) - 1 else 0
        if len(part) + room > name_max:
            raise I2VError(f"cannot write {_short(path)}: the name {_short(os.fsdecode(part))} is {len(part)} bytes, "
                           f"too long for the file system (at most {name_max - room} here)")
    if len(whole) + _TEMPORARY[kind] > path_max:
        raise I2VError(f"cannot write {_short(path)}: the path is {len(whole)} bytes, too long for the system "
                       f"(at most {path_max - _TEMPORARY[kind]})")
    return path


def _limits(path: Path) -> tuple[int, int]:
    """The longest name and path of the file system that holds the nearest existing folder above ``path``."""
    folder = Path(os.path.abspath(path)).parent
    while not os.path.isdir(folder) and folder != folder.parent:
        folder = folder.parent
    try:
        return os.pathconf(folder, "PC_NAME_MAX"), os.pathconf(folder, "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):
        return 255, 4096


def _check_not_owned(path: Path, shown: str, kind: str, inputs) -> None:
    """Refuse what a writer must not replace (:func:`check_output`)."""
    run = _run_of(path)
    if run is not None:
        raise I2VError(f"{shown} is the run's own {path.name if path.parent == run else SNAPSHOTS + '/' + path.name} "
                       f"(the run in {_short(run)}); writing there would destroy the run: choose another name")
    for source in inputs:
        if source is not None and _same_file(path, source):
            raise I2VError(f"{shown} is an input of this command; write the output elsewhere")
    if kind == "file" and _is_checkpoint(path):
        raise I2VError(f"{shown} is a checkpoint; writing there would destroy it: choose another name")
    if kind == "folder" and os.path.isdir(path):
        try:
            here, target = Path.cwd().resolve(), path.resolve()
        except OSError:
            here, target = None, path
        if target == here or target in getattr(here, "parents", ()):
            where = "the current folder" if target == here else "a folder that holds the current folder"
            raise I2VError(f"{shown} is {where}; an output folder is written whole and replaced as one: give a new "
                           "folder name")
        if os.path.isfile(path / RUN_OWN[0]):
            raise I2VError(f"{shown} holds a run (its {RUN_OWN[0]}); choose another folder")


def _run_of(path: Path) -> Path | None:
    """The run folder whose own file ``path`` is (its checkpoint, loss log, record, or a snapshot), else None."""
    folder = path.parent
    if folder.name == SNAPSHOTS and os.path.isfile(folder.parent / RUN_OWN[0]):
        return folder.parent
    if path.name in RUN_OWN and os.path.isfile(folder / RUN_OWN[0]):
        return folder
    return None


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, TypeError, ValueError):
        return False


def _is_checkpoint(path: Path) -> bool:
    """Whether ``path`` is a file ``torch.save`` wrote (a zip archive holding a ``data.pkl``)."""
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"PK\x03\x04":
                return False
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("/data.pkl") or n == "data.pkl" for n in z.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def _short(path) -> str:
    """A name as a one-line message shows it: a very long one by its two ends."""
    text = str(path)
    return text if len(text) <= 64 else f"{text[:30]}...{text[-30:]}"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
