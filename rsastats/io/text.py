"""Text files that users write by hand (labels, ``--meta``, manifests, analysis configurations):
read as UTF-8 with a one-line error otherwise, and YAML parsed safely with a bound on alias
expansion (a few hundred bytes of nested aliases, "billion laughs", must not hang the program).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..exceptions import FileFormatError

__all__ = ["MAX_YAML_NODES", "read_text_file", "check_utf8", "separator_problem", "load_yaml", "load_mapping_text"]

# Nodes a YAML document may hold once every alias is expanded: generous for hand-written files
# (a manifest of a thousand tasks has tens of thousands), far below what nested aliases reach.
MAX_YAML_NODES = 100_000
# Text files read here are written by hand; a larger one is a mistake (or an attack).
_MAX_TEXT_BYTES = 64 << 20


def read_text_file(path: str | os.PathLike, what: str = "file") -> str:
    """The text of ``path`` (UTF-8, a byte-order mark allowed), or a one-line
    :class:`~rsastats.exceptions.FileFormatError` naming the file: missing, unreadable, too large,
    or not UTF-8 (with the offset of the first bad byte)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if p.is_dir():
            raise FileFormatError(f"the {what} is a directory, not a file", path=p)
        if size > _MAX_TEXT_BYTES:
            raise FileFormatError(f"the {what} is {size} bytes; a hand-written {what} is under {_MAX_TEXT_BYTES >> 20} MiB",
                                  path=p)
        data = p.read_bytes()
    except FileNotFoundError:
        raise FileFormatError(f"{what} not found", path=p) from None
    except OSError as exc:
        raise FileFormatError(f"cannot read the {what}: {exc.strerror or exc}", path=p) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"the {what} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                              "save it as UTF-8", path=p) from None


def check_utf8(path: str | os.PathLike, what: str = "file", chunk_size: int = 1 << 20) -> None:
    """A one-line :class:`~rsastats.exceptions.FileFormatError` if ``path`` is not UTF-8 text, naming the
    byte and its offset in the file (a table reader's own message counts from a chunk it read, not from
    the start).  Read in chunks: any size of file."""
    base, pending = 0, b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(chunk_size)
            data = pending + chunk
            if not data:
                return
            try:
                data.decode("utf-8")
                base, pending = base + len(data), b""
            except UnicodeDecodeError as exc:
                if chunk and exc.reason == "unexpected end of data":  # a character split by the chunk boundary
                    base, pending = base + exc.start, data[exc.start:]
                else:
                    raise FileFormatError(f"the {what} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                                          f"{base + exc.start}); save it as UTF-8", path=Path(path)) from None
            if not chunk:
                return


def separator_problem(header: str, sep: str) -> str:
    """A sentence when a table's header read with ``sep`` came out as one column holding another separator
    (a ``;``-separated "CSV", a tab-separated file named .csv), else ``""``."""
    if sep in header:
        return ""
    other = next((d for d in (";", "\t" if sep == "," else ",", "|") if d in header), None)
    return (f"the header {header[:60]!r} is one column: the table is separated by {other!r}, not {sep!r} (use commas, "
            "or tabs in a .tsv file)") if other else ""


def _expanded_size(root: Any, path: Any) -> int:
    """Nodes of the document with every alias expanded (aliases share node objects in PyYAML's
    graph, so the size is counted once per node, bottom-up); a recursive alias is refused."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            sizes[key] = min(1 + sum(sizes[id(c)] for c in children), MAX_YAML_NODES + 1)
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise FileFormatError("YAML with a recursive alias (an anchor used inside itself) is not read", path=path)
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise FileFormatError("YAML with a recursive alias (an anchor used inside itself) is not read", path=path)
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def _children(node: Any) -> list[Any]:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def load_yaml(text: str, path: str | os.PathLike | None = None) -> Any:
    """``yaml.safe_load`` of one document, refusing documents whose aliases expand to more than
    :data:`MAX_YAML_NODES` nodes (or refer to themselves) before anything is built from them.
    YAML syntax errors become a one-line :class:`~rsastats.exceptions.FileFormatError`."""
    import yaml

    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                return None
            if _expanded_size(root, path) > MAX_YAML_NODES:
                raise FileFormatError(f"YAML whose aliases expand to more than {MAX_YAML_NODES:,} nodes is not read "
                                      "(nested aliases, a 'billion laughs'?)", path=path)
            return loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise FileFormatError(f"not valid YAML: {' '.join(str(exc).split())[:200]}", path=path) from None
    except RecursionError:
        raise FileFormatError("YAML nested too deeply to read", path=path) from None


def load_mapping_text(path: str | os.PathLike, what: str = "file") -> Any:
    """Read ``path`` (:func:`read_text_file`) and parse it as JSON (``.json``) or YAML (otherwise)."""
    p = Path(path)
    text = read_text_file(p, what)
    if p.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise FileFormatError(f"the {what} is not valid JSON: {' '.join(str(exc).split())[:200]}", path=p) from None
    return load_yaml(text, p)
