"""Writing a benchmark's measured section into a Markdown file (docs/performance.md).

A section is the text between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->``; writing replaces
it and leaves the rest of the file alone (or appends the section when the markers are missing).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["markers", "write_section"]


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def write_section(path: Path, name: str, body: str) -> None:
    """Replace section ``name`` of ``path`` with ``body`` (markers added here)."""
    begin, end = markers(name)
    section = f"{begin}\n\n{body.strip()}\n\n{end}"
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + section + tail
    else:
        text = text + ("\n" if text and not text.endswith("\n") else "") + section + "\n"
    path.write_text(text, encoding="utf-8")
