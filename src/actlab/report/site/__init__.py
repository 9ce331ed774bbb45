"""A static results site generated from benchmark records (:mod:`actlab.report.records`): it works from file://
and on any static host. ``index.html`` lists the tasks, families and activations; ``task-ID.html`` is a task's
leaderboard, whose rows come from ``data/task-ID.js`` (a few kilobytes per task, loaded by a script tag so that no
server is needed); ``act/NAME.html`` and ``family/NAME.html`` are static pages; ``img/NAME.svg`` the plots.

The site is written into a temporary folder beside the output and renamed into place: an error leaves nothing
half-written, and an earlier site in the output folder is replaced whole.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actlab.errors import ActlabError
from actlab.report.records import known_activation, records_csv, records_json
from actlab.report.site import plot
from actlab.report.site.activation_page import activation_page
from actlab.report.site.pages import family_page, index_page, page_name, task_data, task_page, template

MARKER = ".actlab-site"


class SiteError(ActlabError):
    """An output folder the site cannot be written to."""


def _grouped(records: Sequence[dict[str, Any]], key) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    return groups


def _plot(name: str, label: str, folder: Path) -> str | None:
    """The activation's plot written to ``folder``; None for an activation this process does not know."""
    act = known_activation(name)
    if act is None:
        return None
    file = f"{page_name(name)}.svg"
    (folder / file).write_text(plot.plot_svg(act, label), encoding="utf-8")
    return file


def _write(records: Sequence[dict[str, Any]], root: Path) -> None:
    for sub in ("assets", "data", "act", "family", "img"):
        (root / sub).mkdir()
    (root / MARKER).write_text("written by actlab site\n")
    (root / "assets" / "site.css").write_text(template("site.css"), encoding="utf-8")
    (root / "assets" / "leaderboard.js").write_text(template("leaderboard.js"), encoding="utf-8")
    (root / "records.json").write_text(records_json(records), encoding="utf-8")
    (root / "records.csv").write_text(records_csv(records), encoding="utf-8")
    tasks = _grouped(records, lambda r: r["task"]["id"])
    for task_id, group in tasks.items():
        (root / "data" / f"task-{task_id}.js").write_text(task_data(group[0]["task"], group), encoding="utf-8")
        (root / f"task-{task_id}.html").write_text(task_page(group[0]["task"]), encoding="utf-8")
    by_activation = _grouped(records, lambda r: r["activation"]["name"])
    for name, group in by_activation.items():
        described = group[0]["activation"]
        html = activation_page(described, group, _plot(name, described["label"], root / "img"))
        (root / "act" / f"{page_name(name)}.html").write_text(html, encoding="utf-8")
    activations = [g[0]["activation"] for g in by_activation.values()]
    families = _grouped([{"a": a} for a in activations if a["family"]], lambda r: r["a"]["family"])
    for family, members in families.items():
        (root / "family" / f"{page_name(family)}.html").write_text(
            family_page(family, [m["a"] for m in members]), encoding="utf-8"
        )
    (root / "index.html").write_text(
        index_page([g[0]["task"] for g in tasks.values()], sorted(families), activations), encoding="utf-8"
    )


def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise SiteError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise SiteError(f"{out} is a folder with other files in it; give an empty or new folder (or an earlier site)")


def write_site(records: Sequence[dict[str, Any]], out: str | Path) -> Path:
    """The site of ``records`` in ``out`` (created; an earlier site there is replaced whole)."""
    out = Path(out).absolute()
    _check_target(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    except OSError as error:
        raise SiteError(f"cannot write {out}: {error.strerror or error}") from None
    try:
        staging.chmod(0o755)  # mkdtemp's folder is private; a site is for reading
        _write(records, staging)
        if out.exists():
            old = out.with_name(f".{out.name}-old-{staging.name}")
            out.rename(old)
            staging.rename(out)
            shutil.rmtree(old)
        else:
            staging.rename(out)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise SiteError(f"cannot write {out}: {error.strerror or error}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
