"""Exceptions raised by rsastats.

Every error the package raises on purpose derives from :class:`RsaStatsError`.
Errors caused by what the user gave us (files, labels, arguments) also derive from
:class:`InputError`; the command line maps those to exit status 2 and everything
else to exit status 1.  Messages are one line, say what was wrong and, where it
helps, how to fix it.  When a file is involved the message starts with its path.
"""

from __future__ import annotations

__all__ = [
    "RsaStatsError",
    "InputError",
    "FileFormatError",
    "SchemaError",
    "ValidationError",
    "LabelError",
    "ImportFormatError",
    "DependencyError",
    "EstimationError",
    "ModelLoadError",
    "ConfigMismatchError",
    "OutputBusyError",
    "RsaStatsWarning",
]


class RsaStatsError(Exception):
    """Root of every error rsastats raises on purpose."""

    def __init__(self, message: str, *, path: object | None = None):
        self.path = None if path is None else str(path)
        self.problem = " ".join(str(message).split())  # always one line
        super().__init__(f"{self.path}: {self.problem}" if self.path else self.problem)

    def __reduce__(self):
        # Rebuilt from (problem, path), so an error raised on a dask worker keeps its path.
        return (_rebuild, (type(self), self.problem, self.path))


def _rebuild(cls: type, problem: str, path: str | None) -> RsaStatsError:
    return cls(problem, path=path)


class InputError(RsaStatsError, ValueError):
    """The input (file, labels, arguments) is not usable; exit status 2 on the command line."""


class FileFormatError(InputError):
    """A file is missing, unreadable, truncated or not of the expected format."""


class SchemaError(InputError):
    """A NetCDF file is readable but does not follow the rsastats schema."""


class ValidationError(InputError):
    """Values are unusable: NaN/Inf, zero vectors, wrong shapes, arguments out of range."""


class LabelError(InputError):
    """Emotion labels are duplicated, missing, empty or differ between inputs."""


class ImportFormatError(InputError):
    """A vector set published elsewhere (.npy/.npz/.pt/.safetensors/.csv) cannot be imported."""


class DependencyError(InputError):
    """An optional dependency needed for this input is not installed."""


class ConfigMismatchError(InputError):
    """A resumed job or a combined analysis was given an incompatible configuration."""


class OutputBusyError(InputError):
    """Another process is writing the same output (it holds the output's lock); running the same
    command again once it has finished can succeed."""


class ModelLoadError(InputError):
    """A language model (or its tokenizer) cannot be loaded."""


class EstimationError(RsaStatsError):
    """A statistic cannot be estimated from these data (undefined, singular, not converged)."""


class RsaStatsWarning(UserWarning):
    """Something the user should know about a result that is still returned."""
