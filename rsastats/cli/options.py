"""Options every subcommand may take: ``--json``, ``--quiet``, ``--seed``, ``--scheduler``.

``--json`` and ``--quiet`` are recorded on the root context, where :func:`json_mode` and
:func:`quiet_mode` (and the error handler, and the progress bars) read them.  The options of
``compare`` and ``matrix`` are in ``commands/_inference_options.py``.
"""

from __future__ import annotations

from typing import Callable

import click

__all__ = ["JSON_KEY", "QUIET_KEY", "json_option", "quiet_option", "seed_option", "scheduler_option", "json_mode",
           "quiet_mode", "LAYER", "LAYER_HELP"]

JSON_KEY = "rsastats.json"
QUIET_KEY = "rsastats.quiet"


class _LayerType(click.ParamType):
    """A layer of the files compared: an integer label, a negative position (-1 = last) or ``last``."""

    name = "LAYER"

    def convert(self, value, param, ctx):
        from ..exceptions import ValidationError
        from ..inputs import layer_value

        try:
            return layer_value(value)
        except ValidationError as exc:
            self.fail(exc.problem, param, ctx)


LAYER = _LayerType()
LAYER_HELP = ("Layer of every file given without its own: a layer label, a negative position from the end "
              "(-1 = last) or 'last' [default: last layer]. A file may carry its own as FILE@LAYER (run.nc@15, "
              "peer.nc@last); an existing file whose name contains '@' is read as it is. A file that holds one "
              "layer takes only that layer; files of one model compared at different layers get a note.")


def _root_flag(key: str) -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().meta.get(key))


def json_mode() -> bool:
    """Whether ``--json`` was given to the running command."""
    return _root_flag(JSON_KEY)


def quiet_mode() -> bool:
    """Whether ``--quiet`` was given to the running command."""
    return _root_flag(QUIET_KEY)


def _flag_setter(key: str) -> Callable[[click.Context, click.Parameter, bool], bool]:
    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            ctx.find_root().meta[key] = True
        return value

    return callback


def json_option(func: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, callback=_flag_setter(JSON_KEY), is_eager=True,
                        help="Print exactly one JSON object on stdout instead of a table.")(func)


def quiet_option(func: Callable) -> Callable:
    return click.option("--quiet", "-q", is_flag=True, callback=_flag_setter(QUIET_KEY),
                        help="No progress bars.")(func)


def seed_option(func: Callable) -> Callable:
    return click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                        help="Seed of every random procedure (permutations, resamples).")(func)


def scheduler_option(func: Callable) -> Callable:
    """``--scheduler ADDRESS`` (or ``DASK_SCHEDULER_ADDRESS``): run the chunked work on a dask cluster."""
    return click.option("--scheduler", default=None, envvar="DASK_SCHEDULER_ADDRESS", show_envvar=True,
                        metavar="ADDRESS",
                        help="Run on the dask.distributed scheduler at ADDRESS (tcp://HOST:8786): resampling chunks "
                             "or extraction tasks go to its workers, which read and write files at the same paths; "
                             "statistics come out identical to an in-process run. Without it everything runs in this "
                             "process. Needs the 'distributed' extra (README: Running on a cluster).")(func)
