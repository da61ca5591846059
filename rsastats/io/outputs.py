"""Writing outputs safely: one lock per output, held for the whole write; atomic files and folders;
and the removal of what a killed writer left behind.

Every command that writes an output (``extract``, ``import``, ``report``, a manifest run) holds
:func:`output_lock` on it from its first check to its final rename.  The lock is a
:class:`filelock.FileLock` on a hidden file beside the output (``.NAME.lock``; it stays on disk, so
that every process locks the same file); while it is held, ``.NAME.lock.owner`` says which process
holds it.  A second writer of the same output gets one :class:`~rsastats.exceptions.OutputBusyError`
line naming the holder instead of waiting or writing over it.  Locks are re-entrant within a
thread: a function that locks its output can call another that locks the same output.

Temporary names are ``.NAME.PID.TOKEN.tmp`` (a file from :func:`atomic_path`, a folder from
:func:`atomic_folder`) and ``.NAME.PID.TOKEN.old`` (the folder being replaced).  Whoever takes the
lock removes those of the same output whose process is gone (a killed run): the lock says no
rsastats process is writing the output, and the PID in the name says its writer is not alive.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import shutil
import socket
import threading
import uuid
from pathlib import Path
from typing import Iterator

from ..exceptions import InputError, OutputBusyError, ValidationError

__all__ = ["output_lock", "atomic_path", "atomic_folder", "lock_file_for", "remove_stale_temporaries"]

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.(?P<token>[0-9a-f]{8})\.(?P<kind>tmp|old)$")
_HELD = threading.local()


def lock_file_for(path: str | os.PathLike) -> Path:
    """The lock file of an output: ``.NAME.lock`` in the same folder."""
    final = Path(os.path.abspath(path))
    return final.with_name(f".{final.name}.lock")


def _temporary(final: Path, kind: str = "tmp") -> Path:
    return final.with_name(f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.{kind}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process holds the lock: its own leftovers are not being written
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, another user's
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def remove_stale_temporaries(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Remove the temporaries in ``folder`` (of the output ``name``, or of any name) whose writing
    process is gone; a folder that was being replaced (``.old``) is put back if its output is
    missing.  Call it only while holding the lock of those outputs.  Returns what was removed."""
    folder = Path(folder)
    removed: list[Path] = []
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name.endswith(".tmp"))  # .old first: restore, then clean
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP.match(entry.name)
        if match is None or (name is not None and match["name"] != name) or _alive(int(match["pid"])):
            continue
        final = entry.with_name(match["name"])
        if match["kind"] == "old" and not final.exists() and entry.is_dir():
            try:
                os.rename(entry, final)  # the run died between moving the old folder aside and the new one in
            except OSError:
                pass  # left for a later run: never remove the only copy of an output
            continue
        _remove(entry)
        removed.append(entry)
    return removed


def _holder(lock: Path) -> str:
    try:
        owner = json.loads(lock.with_name(lock.name + ".owner").read_text(encoding="utf-8"))
        where = "" if owner.get("host") == socket.gethostname() else f" on {owner.get('host')}"
        return f" (pid {int(owner['pid'])}{where}, since {owner.get('since')})"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return ""


@contextlib.contextmanager
def output_lock(path: str | os.PathLike) -> Iterator[Path]:
    """Hold the lock of the output ``path`` (a file or a report folder) for the block.

    Raises :class:`OutputBusyError` at once when another process (or another thread) holds it.
    On taking the lock, the temporaries a killed writer of this output left are removed.
    """
    from filelock import FileLock, Timeout

    final = Path(os.path.abspath(path))
    held: dict[str, list] = _HELD.__dict__.setdefault("locks", {})
    key = str(final)
    if key in held:
        held[key][1] += 1
        try:
            yield final
        finally:
            held[key][1] -= 1
        return
    lock_file = lock_file_for(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_file))
        lock.acquire(timeout=0)
    except Timeout:
        raise OutputBusyError(f"another rsastats process{_holder(lock_file)} is writing this output; wait for it to "
                              "finish (or stop it), then run again", path=final) from None
    except OSError as exc:
        raise InputError(f"cannot write here: {exc.strerror or exc} (creating the lock file {lock_file.name})",
                         path=final) from None
    owner = lock_file.with_name(lock_file.name + ".owner")
    held[key] = [lock, 1]
    try:
        with contextlib.suppress(OSError):
            owner.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": _dt.datetime.now(
                _dt.timezone.utc).replace(microsecond=0).isoformat()}), encoding="utf-8")
        remove_stale_temporaries(final.parent, final.name)
        yield final
    finally:
        del held[key]
        with contextlib.suppress(OSError):
            owner.unlink()
        lock.release()


def _refuse_existing(final: Path) -> None:
    raise ValidationError("already exists (it appeared while this run was writing); pass --overwrite to replace it",
                          path=final)


@contextlib.contextmanager
def _naming(final: Path, tmp: Path) -> Iterator[None]:
    """An OSError met while writing ``tmp`` names the output, ``final``, not the temporary name (which is removed)
    nor nothing at all (a full disk met by a library writing to an open file object: "No space left on device")."""
    try:
        yield
    except OSError as exc:
        name = None if exc.filename is None else str(exc.filename)
        if exc.errno is None or (name is not None and not name.startswith(str(tmp))):
            raise
        shown = str(final) if name is None else str(final) + name[len(str(tmp)):]
        raise OSError(exc.errno, exc.strerror or str(exc), shown) from exc


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    On any exception (KeyboardInterrupt included) the temporary file is removed and nothing
    appears under the final name.  With ``overwrite=False`` an existing ``path`` is never replaced,
    even one that appeared while the block ran (the final step is a hard link, which fails when
    the name exists): :class:`ValidationError`.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(final)
    try:
        with _naming(final, tmp):
            yield tmp
        if overwrite:
            os.replace(tmp, final)
        else:
            try:
                os.link(tmp, final)
            except FileExistsError:
                _refuse_existing(final)
            except OSError:  # a file system without hard links: check, then rename
                if os.path.lexists(final):
                    _refuse_existing(final)
                os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; when the block succeeds, it replaces
    ``path`` whole (an existing folder is moved aside first and removed after).  On any exception
    the temporary folder is removed and ``path`` is as it was.  Hold :func:`output_lock` on
    ``path`` around it: a run killed between the two renames leaves the old folder aside, and the
    next holder of the lock puts it back."""
    final = Path(os.path.abspath(path))
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(final)
    tmp.mkdir()
    try:
        with _naming(final, tmp):
            yield tmp
        if final.exists():
            old = _temporary(final, "old")
            os.rename(final, old)
            try:
                os.rename(tmp, final)
            except BaseException:
                os.rename(old, final)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
