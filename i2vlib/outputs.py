"""Where a command may write, and how: output checks before the work, atomic writes, folders made and removed.

A command checks its output first (:func:`check_output`: a name the file system can hold, no run's own
file, no input, a writable place, nothing immutable to replace), so that it fails in one line before its work;
then it writes through :func:`atomic_path` (:func:`atomic_file`), :func:`atomic_paths` (files that go together,
a video and its sidecar) or :func:`atomic_dir`, so that a crash, a signal or a full disk leaves no half-written
or temporary file behind, and an OSError is one line naming the path and its cause. What a writer killed by
SIGKILL left is removed by the next write into that folder (:func:`sweep`). An output given as a symbolic link is
written at its target. Every writer of the library goes through these.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import struct
import sys
import tempfile
import zipfile
from pathlib import Path

from .errors import I2VError, os_error, signals_deferred

try:
    import fcntl
except ImportError:        # not a POSIX system: no file flags to read
    fcntl = None

# What a run folder holds (i2vlib.train and i2vlib.checkpoint name them; outputs sits below both): no writer may
# replace them.
RUN_OWN = ("checkpoint.pt", "losses.csv", "run.json")
SNAPSHOTS = "snapshots"
# A temporary file or folder of a write in progress: ``.NAME.i2vPID-XXXXXXXX.SUFFIX`` (atomic_path),
# ``.NAME.i2vPID-writing-XXXXXXXX`` and ``.NAME.i2vPID-old-XXXXXXXX`` (atomic_dir), ``.i2vPID-probe-XXXXXXXX``
# (check_output). The writer's process id tells one whose process is gone (killed by SIGKILL, a power cut), which
# the next write into that folder removes (:func:`sweep`); a signal that can be handled removes its own.
TEMPORARY = re.compile(r"^\.(?:.*\.)?i2v(\d+)-(?:writing-|old-|probe-)?[a-z0-9_]{8}(?:\.[^.]*)?$")
LOCK = ".i2v-lock"   # ``.NAME.i2v-lock``: held while a video and its sidecar are renamed into place (_name_lock)
# The longest addition to a name while it is written: ``.NAME.i2vPID-XXXXXXXX`` + suffix for a file,
# ``.NAME.i2vPID-writing-XXXXXXXX`` for a folder (a process id has at most 7 digits).
_TEMPORARY = {"file": 21, "folder": 29}


def _prefix(name: str, kind: str = "") -> str:
    """The start of a temporary name for ``name`` (:data:`TEMPORARY`)."""
    return f".{name}.i2v{os.getpid()}-{kind}"


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary file or folder of an i2v write (:data:`TEMPORARY`)."""
    return "i2v" in name and TEMPORARY.match(name) is not None


def sweep(folder) -> None:
    """Remove what writes killed mid-way (SIGKILL, a power cut) left in ``folder``: the temporary files and folders
    (:data:`TEMPORARY`) of processes that no longer run. A write in progress elsewhere keeps its own."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.endswith(LOCK) and name.startswith(".") and fcntl is not None:
            _unheld(os.path.join(folder, name))
            continue
        found = TEMPORARY.match(name) if "i2v" in name else None
        if found is None or _running(int(found.group(1))):
            continue
        p = os.path.join(folder, name)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(p)


@contextlib.contextmanager
def _name_lock(path: Path):
    """Hold ``path``'s name against other i2v writers: a lock file ``.NAME.i2v-lock`` beside it, locked (flock) and
    removed by its holder; a waiter that then holds a removed file takes the new one. A lock file that a killed
    process left is removed by the next write there (:func:`sweep`)."""
    if fcntl is None:
        yield
        return
    lock = path.with_name(f".{path.name}{LOCK}")
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.fstat(fd).st_ino == os.stat(lock).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


def _unheld(path: str) -> None:
    """Remove the lock file ``path`` when no process holds it."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.unlink(path)
    except OSError:
        pass
    finally:
        os.close(fd)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except PermissionError:       # another user's process
        return True
    except (OSError, OverflowError, ValueError):   # none by that number
        return False
    return True


def followed(path) -> Path:
    """``path``, or where it points when it is a symbolic link (dangling or not): an output given as a link is
    written at the link's target, as a shell's ``>`` writes, never in place of the link."""
    path = Path(path)
    return Path(os.path.realpath(path)) if os.path.islink(path) else path


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    A crash, an exception or a signal inside the block leaves no half-written ``path`` and no temporary file behind
    (SIGKILL's are removed by the next write there, :func:`sweep`); an OSError (a full disk, a read-only one, an
    immutable target) is one line naming ``path`` and the cause. A symbolic link is followed (:func:`followed`).
    """
    with atomic_paths([path], [suffix]) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_file(path):
    """:func:`atomic_path` with the temporary file open for writing bytes: a writer that writes through it
    (``torch.save(obj, f)``) meets a full disk as the OSError it is, not as torch's own words for it
    (``RuntimeError: [enforce fail at inline_container.cc] unexpected pos``)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        yield f


@contextlib.contextmanager
def atomic_paths(paths, suffixes=None):
    """:func:`atomic_path` for files written as one unit: yield a temporary path beside each of ``paths`` (with
    ``suffixes``, default each path's own), and on success rename them onto ``paths`` in their order (a video's
    sidecar first, the video last), a signal held until the last is in place and another process's renames of the
    same names held off by a lock (:func:`_name_lock`): two writers of one video leave one's video and sidecar."""
    paths = [followed(p) for p in paths]
    suffixes = list(suffixes or [None] * len(paths))
    for p in paths:
        if _kind_of(p) not in (None, "file"):
            raise I2VError(f"cannot write {p}: it is {_kind_of(p)}, not a plain file")
    created, tmps, at = [], [], paths[0]
    try:
        for at, suffix in zip(paths, suffixes):
            created += make_folders(at.parent, at)
            if not TEMPORARY.match(at.parent.name):       # a fresh temporary folder of ours holds no leftovers
                sweep(at.parent)
            fd, tmp = tempfile.mkstemp(prefix=_prefix(at.name), suffix=suffix or at.suffix, dir=at.parent)
            os.close(fd)
            tmps.append(tmp)
        yield tuple(Path(t) for t in tmps)
        with signals_deferred(), _name_lock(paths[-1]) if len(paths) > 1 else contextlib.nullcontext():
            for tmp, at in zip(tmps, paths):
                os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
                os.replace(tmp, at)
    except BaseException as e:
        for tmp in tmps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        remove_created(created)
        cause = os_cause(e)
        if cause is not None:
            raise I2VError(os_error(cause, _short(at))) from None
        raise


@contextlib.contextmanager
def atomic_dir(path):
    """Yield a temporary folder beside ``path``; swap it onto ``path`` only on success.

    An existing ``path`` is replaced whole, and restored if the swap fails (a folder that holds a file that cannot
    be removed, an immutable one, is refused before the swap); an exception or a signal inside the block leaves
    ``path`` as it was and removes the temporary folder. An OSError is one line naming ``path`` and the cause.
    """
    path = followed(path)
    created = make_folders(path.parent, path)
    sweep(path.parent)
    try:
        tmp = _temporary_folder(path, "writing-")
    except OSError as e:
        remove_created(created)
        raise I2VError(os_error(e, _short(path))) from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 folders
        with signals_deferred():          # a signal waits until the old folder is replaced or restored
            _swap(tmp, path)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_created(created)
        if isinstance(e, I2VError) and str(tmp) in str(e):    # a file of the folder: named where it was going
            raise I2VError(str(e).replace(str(tmp), str(path))) from None
        cause = os_cause(e)
        if cause is not None:
            raise I2VError(os_error(cause, _short(path))) from None
        raise


def _temporary_folder(path: Path, kind: str) -> Path:
    """A new hidden folder beside ``path``, named as the user named ``path`` (relative where it is): from Python 3.12
    on, mkdtemp returns an absolute name, which a message about a file in it then showed instead of ``path``."""
    return path.parent / Path(tempfile.mkdtemp(prefix=_prefix(path.name, kind), dir=path.parent)).name


def os_cause(e: BaseException) -> OSError | None:
    """The OSError behind a failed write: ``e`` itself, or the one it was raised while handling (``torch.save``
    meets a full disk as an OSError, then fails to close its archive with ``RuntimeError: [enforce fail at
    inline_container.cc] unexpected pos``); None for anything else (an interrupt, an I2VError, a bug)."""
    seen = set()
    while isinstance(e, Exception) and not isinstance(e, I2VError) and id(e) not in seen:
        if isinstance(e, OSError):
            return e
        seen.add(id(e))
        e = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
    return None


def _swap(new: Path, path: Path) -> None:
    """Put folder ``new`` at ``path``: an existing folder there is moved aside, replaced, and removed (or restored
    if the replacement fails)."""
    if not os.path.lexists(path):
        os.rename(new, path)
        return
    blocked = unremovable(path)
    if blocked:
        raise I2VError(f"cannot replace {_short(path)}: {blocked}")
    old = _temporary_folder(path, "old-")
    try:
        os.rename(path, old / "x")
    except BaseException:
        old.rmdir()              # nothing moved: leave no empty ``.old-`` folder behind
        raise
    try:
        os.rename(new, path)
    except BaseException:
        os.rename(old / "x", path)
        raise
    shutil.rmtree(old, ignore_errors=True)


# Linux's FS_IOC_GETFLAGS ioctl and the flags of ``chattr +i`` and ``chattr +a``: a file so marked cannot be
# replaced, renamed or removed, even by root.
_GETFLAGS = 0x80086601 if struct.calcsize("l") == 8 else 0x80046601
_IMMUTABLE, _APPEND_ONLY = 0x10, 0x20


def marked(path) -> str | None:
    """``"immutable"`` or ``"append-only"`` where the file system marks the file or folder ``path`` so (Linux's
    ``chattr +i``/``+a``), else None (also where the flags cannot be read)."""
    if fcntl is None or not sys.platform.startswith("linux"):
        return None
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode) and not stat.S_ISDIR(os.lstat(path).st_mode):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        flags = struct.unpack("i", fcntl.ioctl(fd, _GETFLAGS, struct.pack("i", 0)))[0]
    except OSError:              # a file system without these flags
        return None
    finally:
        os.close(fd)
    return "immutable" if flags & _IMMUTABLE else "append-only" if flags & _APPEND_ONLY else None


def unremovable(folder) -> str | None:
    """Why the folder ``folder`` cannot be removed whole (a file or folder in it marked immutable or append-only,
    a folder in it that is not writable), or None when it can."""
    for top, dirs, files in os.walk(folder):
        for p in (top, *(os.path.join(top, f) for f in files)):
            mark = marked(p)
            if mark:
                return f"{_short(p)} is {mark} (chattr -{mark[0]} clears it)"
        if not os.access(top, os.W_OK | os.X_OK):
            return f"{_short(top)} is not writable"
    return None


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
    * a folder (or a name ending in ``/``, or ``''``) where a file is meant, a file where a folder is; ``-``
      (standard output) and a name that ends in a dot (``o.gif.``);
    * what the user did not ask to replace: a file that is not a plain file (a device, a pipe), the own files
      of a run (:data:`RUN_OWN` beside a ``checkpoint.pt``, its snapshots) whether they exist yet or not, any
      checkpoint, the command's ``inputs``; as a folder, the current folder or one that holds it (a writer
      replaces its folder whole), and a folder that holds a run;
    * a place where nothing can be created: the nearest existing folder above ``path`` (and an existing output
      folder itself) is probed by creating and removing a temporary file there;
    * what cannot be replaced: a file marked immutable or append-only, a folder that holds one (:func:`unremovable`).

    A symbolic link is checked, and written, at its target (:func:`followed`); the path returned is that target.
    """
    text = str(path)
    shown = _short(text) if text else "''"
    if text == "-":
        raise I2VError("'-' names standard output, which i2v does not write files to; give a file name")
    name = Path(text).name
    if name.endswith(".") and name.strip("."):
        raise I2VError(f"{shown} ends in a dot; give the name its suffix, or none")
    path = followed(check_name(path, kind))
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
            with signals_deferred():
                fd, probe = tempfile.mkstemp(prefix=f".i2v{os.getpid()}-probe-", dir=folder)
                os.close(fd)
                os.unlink(probe)
        except OSError as e:
            raise I2VError(f"cannot write {shown}: {folder} is not writable ({e.strerror or e})") from None
    mark = marked(path) if found == "file" else None
    blocked = f"it is {mark} (chattr -{mark[0]} clears it)" if mark else None
    blocked = blocked or (unremovable(path) if found == "folder" else None)
    if blocked:
        raise I2VError(f"cannot replace {shown}: {blocked}")
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
