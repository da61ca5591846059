"""How the command line fails: exit 0 on success, 2 on bad input or usage (one line that starts with
``error:``), 1 on anything else; ``--json`` adds one JSON object ``{"error", "exit_code"}`` on
stdout; ``--debug`` (before the subcommand, or ``RSASTATS_DEBUG=1``) shows the traceback.  Warnings
print once each as ``warning: ...`` on stderr.

:class:`LazyGroup` is the click group that applies these conventions and imports each subcommand's
module only when it runs (so that ``rsastats --help`` stays fast and never imports torch).
"""

from __future__ import annotations

import errno
import importlib
import json
import os
import re
import sys
import traceback
import warnings
from typing import Any, Callable

import click

from ..exceptions import InputError, RsaStatsError
from .options import JSON_KEY

__all__ = ["DEBUG_KEY", "LazyGroup", "escape_controls"]

DEBUG_KEY = "rsastats.debug"


def _debug(meta: dict[str, Any]) -> bool:
    return bool(meta.get(DEBUG_KEY)) or os.environ.get("RSASTATS_DEBUG", "") not in ("", "0")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# Control characters (C0, DEL, C1), Unicode line and paragraph separators, and the surrogates that
# stand for undecodable bytes in file names: shown escaped, so an error is always one printable line
# and a file name cannot forge a second "error:" line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """``text`` with every control character written as an escape (``\\n``, ``\\x1b``, ``\\udcff``)."""
    def escape(match: re.Match) -> str:
        char = match.group()
        return _NAMED_ESCAPES.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")

    return _CONTROL.sub(escape, str(text))


# OSErrors that say something about the user's files or disk (not a bug): one line, exit 2.
_USER_ERRNOS = {errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.ENOENT, errno.EISDIR,
                errno.ENOTDIR, errno.ENAMETOOLONG, errno.EEXIST, errno.EFBIG, errno.ENOTEMPTY}


def _os_error_message(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else ""
    also = f" -> {exc.filename2}" if exc.filename2 is not None else ""
    text = exc.strerror or str(exc)
    return f"{where}{also}: {text}" if where else text


def _one_line_warning(seen: set[str]) -> Callable[..., None]:
    """``warnings.showwarning`` for the command line: ``warning: <message>`` on stderr, once per message
    (no source file and line: those are for --debug)."""

    def show(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        text = escape_controls(_one_line(str(message)))
        if text not in seen:
            seen.add(text)
            click.echo(f"warning: {text}", err=True)

    return show


class LazyGroup(click.Group):
    """A click group whose subcommands live in modules imported only when needed,
    and whose ``main`` turns every error into the project's one-line ``error:`` convention."""

    def __init__(self, *args: Any, lazy_subcommands: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_subcommands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands:
            module_name, attr = self.lazy_subcommands[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, cmd_name)

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        code = 0
        ctx_meta: dict[str, Any] = {}
        try:
            with warnings.catch_warnings(), self.make_context(prog_name or "rsastats", argv, **extra) as ctx:
                ctx_meta = ctx.meta
                if not _debug(ctx_meta):
                    warnings.showwarning = _one_line_warning(set())
                self.invoke(ctx)
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            code = 1
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            code = self._report(f"{_one_line(exc.format_message())}{hint}", 2, ctx_meta)
        except click.ClickException as exc:
            code = self._report(_one_line(exc.format_message()), exc.exit_code or 1, ctx_meta)
        except InputError as exc:
            if _debug(ctx_meta):
                traceback.print_exc()
            code = self._report(str(exc), 2, ctx_meta)
        except RsaStatsError as exc:
            if _debug(ctx_meta):
                traceback.print_exc()
            code = self._report(str(exc), 1, ctx_meta)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            code = 130
        except OSError as exc:
            if _debug(ctx_meta):
                traceback.print_exc()
            if exc.errno in _USER_ERRNOS:
                code = self._report(_os_error_message(exc), 2, ctx_meta)
            else:
                code = self._report(f"internal error: {type(exc).__name__}: {_one_line(str(exc))} (rerun with --debug "
                                    "for the traceback)", 1, ctx_meta)
        except Exception as exc:  # anything unexpected: still one line unless --debug
            if _debug(ctx_meta):
                traceback.print_exc()
            code = self._report(f"internal error: {type(exc).__name__}: {_one_line(str(exc))} (rerun with --debug for the traceback)", 1, ctx_meta)
        if standalone_mode:
            sys.exit(code)
        return code

    @staticmethod
    def _report(message: str, code: int, meta: dict[str, Any]) -> int:
        message = escape_controls(message)  # the one place error lines are formatted
        click.echo(f"error: {message}", err=True)
        if meta.get(JSON_KEY):
            click.echo(json.dumps({"error": message, "exit_code": code}))
        return code
