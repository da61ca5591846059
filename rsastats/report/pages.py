"""Writing a :class:`~rsastats.report.document.Document` as ``report.md`` and as a self-contained
``index.html`` (figures embedded as PNG data, no network)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from .document import Bullets, Document, FigureBlock, Heading, Paragraph, TableBlock

__all__ = ["markdown_page", "html_page"]


def _md_inline(text: str) -> str:
    return text.replace("*", "\\*").replace("_", "\\_") if "`" not in text else text


def markdown_page(doc: Document, out: Path) -> str:
    lines = [f"# {doc.title}", ""]
    for block in doc.blocks:
        if isinstance(block, Heading):
            lines += [f"{'#' * block.level} {block.text}", ""]
        elif isinstance(block, Paragraph):
            lines += [block.text, ""]
        elif isinstance(block, Bullets):
            lines += [f"- {item}" for item in block.items] + [""]
        elif isinstance(block, TableBlock):
            t = block.table
            lines += [f"**Table {block.number}. {t.title}.** {t.caption}", "", t.to_markdown(), "",
                      f"LaTeX: [`tables/{t.name}.tex`](tables/{t.name}.tex); numbers: [`tables/{t.name}.csv`](tables/{t.name}.csv)", ""]
        elif isinstance(block, FigureBlock):
            f = block.figure
            rel_png, rel_svg = f.png.relative_to(out).as_posix(), f.svg.relative_to(out).as_posix()
            lines += [f"![{f.title}]({rel_png})", "",
                      f"*Figure {block.number}. {f.title}.* {f.caption} ([SVG]({rel_svg}))", ""]
    return "\n".join(lines).rstrip() + "\n"


_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1280px;margin:2em auto;padding:0 1.2em;
color:#1d1d1f;line-height:1.45}
h1{font-size:1.7em;border-bottom:2px solid #ddd;padding-bottom:.3em}h2{margin-top:2em;border-bottom:1px solid #eee}
nav ol{columns:2;font-size:.92em}figure{margin:1.2em 0;text-align:center}figure img{max-width:100%;height:auto}
figcaption,.caption{font-size:.86em;color:#444;text-align:left;margin:.4em 0}
table.data{border-collapse:collapse;font-size:.84em;margin:.6em 0 1.4em 0}
table.data th,table.data td{padding:3px 8px;border-bottom:1px solid #e3e3e3;white-space:nowrap}
table.data td.long{white-space:normal;min-width:22em;max-width:36em}table.data th{white-space:normal;vertical-align:bottom}
table.data th{background:#f5f5f7;border-bottom:2px solid #ccc}.num{text-align:right}.txt{text-align:left}
.tablewrap{overflow-x:auto}.grid{display:flex;flex-wrap:wrap;gap:8px;justify-content:center}
.grid figure{flex:1 1 480px;max-width:600px;margin:.4em 0}ul.summary li{margin:.25em 0}
code{background:#f3f3f3;padding:0 3px;border-radius:3px}
"""


def _html_text(text: str) -> str:
    """Escape, then show `code` spans."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def html_page(doc: Document) -> str:
    toc = [b for b in doc.blocks if isinstance(b, Heading)]
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(doc.title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
           f"<h1>{html.escape(doc.title)}</h1>",
           "<nav><ol>" + "".join(f'<li><a href="#{h.anchor}">{html.escape(h.text)}</a></li>' for h in toc) + "</ol></nav>"]
    first_bullets = True
    i = 0
    blocks = doc.blocks
    while i < len(blocks):
        block = blocks[i]
        if isinstance(block, Heading):
            out.append(f'<h{block.level} id="{block.anchor}">{html.escape(block.text)}</h{block.level}>')
        elif isinstance(block, Paragraph):
            out.append(f"<p>{_html_text(block.text)}</p>")
        elif isinstance(block, Bullets):
            cls = ' class="summary"' if first_bullets else ""
            first_bullets = False
            out.append(f"<ul{cls}>" + "".join(f"<li>{_html_text(x)}</li>" for x in block.items) + "</ul>")
        elif isinstance(block, TableBlock):
            t = block.table
            out.append(f'<p class="caption"><b>Table {block.number}. {html.escape(t.title)}.</b> {_html_text(t.caption)}</p>')
            out.append(f'<div class="tablewrap">{t.to_html()}</div>')
        elif isinstance(block, FigureBlock):
            run = [block]
            while (i + 1 < len(blocks) and isinstance(blocks[i + 1], FigureBlock)
                   and blocks[i + 1].figure.name.startswith("rdm_") and block.figure.name.startswith("rdm_")):
                i += 1
                run.append(blocks[i])
            if len(run) > 1:  # RDM heatmaps side by side, one shared caption
                out.append('<div class="grid">' + "".join(
                    f"<figure>{_img(b.figure.png, b.figure.title)}<figcaption><b>Figure {b.number}.</b> "
                    f"{html.escape(b.figure.title)}</figcaption></figure>" for b in run) + "</div>")
                out.append(f'<p class="caption">Figures {run[0].number}-{run[-1].number}: '
                           f"{_html_text(run[0].figure.caption.split('. ', 1)[1])}</p>")
            else:
                f = block.figure
                out.append(f"<figure>{_img(f.png, f.title)}<figcaption><b>Figure {block.number}. "
                           f"{html.escape(f.title)}.</b> {_html_text(f.caption)}</figcaption></figure>")
        i += 1
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
