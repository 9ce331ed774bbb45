"""The static site in headless Chromium, from file://: pages load without errors, sorting and filtering change the
leaderboard's rows as expected, every link and image resolves, and hostile names stay text."""

import html
import json
import re
from pathlib import Path

import pytest

from actlab.report.records import store_records
from actlab.report.site import write_site
from actlab.report.site.pages import leaderboard_row, page_name, significance
from tests.report.browser import dump_dom
from tests.report.conftest import HOSTILE

# Collects what goes wrong on a page: script errors, resources that fail to load (captured on the way down),
# console.error, and any alert a hostile name might smuggle in.
CATCHER = (
    "<script>window.__errors = [];"
    "window.addEventListener('error', e => window.__errors.push(String(e.message || e.target.src || e.target.href)),"
    " true);"
    "const __ce = console.error; console.error = (...a) => { window.__errors.push(a.join(' ')); __ce(...a); };"
    "window.alert = m => window.__errors.push('alert ' + m);</script>"
)
REPORT = (
    "window.addEventListener('load', () => { const out = run(); out.errors = window.__errors;"
    "out.images = [...document.images].length;"
    "out.decoded = [...document.images].filter(i => i.complete && i.naturalWidth > 0).length;"
    "const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);"
    "document.body.appendChild(pre); });"
)
LEADERBOARD = """function run() {
  const names = () => [...document.querySelectorAll('#board tbody tr')].map(tr => tr.dataset.name);
  const click = key => document.querySelector('th[data-key="' + key + '"] button').click();
  const set = (id, v) => { const s = document.getElementById(id); s.value = v; s.dispatchEvent(new Event('change')); };
  const out = {initial: names()};
  click('final'); out.final_desc = names(); click('final'); out.final_asc = names();
  click('label'); out.label_asc = names();
  set('class', 'adaptive'); out.adaptive = names(); set('class', '');
  set('monotonic', 'false'); out.not_monotonic = names(); set('monotonic', '');
  set('family', FAMILY); out.family = names();
  out.count = document.getElementById('count').textContent;
  out.marked = document.querySelectorAll('#board td.better, #board td.worse').length;
  return out;
}"""


def probe(page: Path, script: str = "function run() { return {}; }") -> dict:
    """Opens a copy of ``page`` (beside it, so relative links hold) with the error catcher and ``script``."""
    copy = page.with_name("probe-" + page.name)
    text = page.read_text().replace("<head>", "<head>" + CATCHER, 1)
    copy.write_text(text.replace("</body>", f"<script>{script}{REPORT}</script></body>", 1))
    dom = dump_dom(copy)
    copy.unlink()
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[:1000]
    return json.loads(html.unescape(found.group(1)))


@pytest.fixture(scope="module")
def site(bench_store, tmp_path_factory):
    records = store_records(bench_store)
    return write_site(records, tmp_path_factory.mktemp("site") / "site"), records


def _task(records, lr):
    return [leaderboard_row(r) for r in records if r["task"]["settings"]["lr"] == lr]


def test_leaderboard_sorts_and_filters(site):
    root, records = site
    rows = _task(records, 0.3)
    task_id = next(r["task"]["id"] for r in records if r["task"]["settings"]["lr"] == 0.3)
    family = next(r["family"] for r in rows if r["class"] == "fixed")
    out = probe(root / f"task-{task_id}.html", LEADERBOARD.replace("FAMILY", json.dumps(family)))
    assert out["errors"] == [] and out["images"] == 0
    by = lambda order: [r["name"] for r in order]  # noqa: E731
    assert out["initial"] == by(sorted(rows, key=lambda r: r["rank"]))
    assert out["final_desc"] == by(sorted(rows, key=lambda r: (-r["final"], r["rank"])))
    assert out["final_asc"] == by(sorted(rows, key=lambda r: (r["final"], r["rank"])))
    assert out["label_asc"] == by(sorted(rows, key=lambda r: r["label"]))
    assert out["adaptive"] == [r["name"] for r in rows if r["class"] == "adaptive"] != []
    assert set(out["not_monotonic"]) == {r["name"] for r in rows if r["monotonic"] is False} != set()
    assert set(out["family"]) == {r["name"] for r in rows if r["family"] == family}
    assert out["count"] == f"{len(out['family'])} of 4 activations"
    assert out["marked"] == sum(r["significance"] is not None for r in rows)


def test_activation_index_and_family_pages_load_with_their_plots(site):
    root, records = site
    gelu = probe(root / "act" / f"{page_name('gelu')}.html")
    assert gelu["errors"] == [] and gelu["images"] == 1 and gelu["decoded"] == 1
    index = probe(root / "index.html")
    assert index["errors"] == []
    family = next(r["activation"]["family"] for r in records)
    assert probe(root / "family" / f"{page_name(family)}.html")["errors"] == []


def test_every_link_and_image_resolves(site):
    root, records = site
    pages = sorted(root.rglob("*.html"))
    assert len(pages) == 1 + 2 + 4 + len({r["activation"]["family"] for r in records})
    for page in pages:
        for target in re.findall(r'(?:href|src)="([^"]+)"', page.read_text()):
            if target.startswith(("https://", "http://")):
                continue
            assert (page.parent / html.unescape(target)).resolve().is_file(), f"{page}: {target}"
    for data in (root / "data").iterdir():
        for href in re.findall(r'"href": "([^"]+)"', data.read_text()):
            assert (root / href).is_file(), href


def test_hostile_names_stay_text(hostile_store, tmp_path):
    root = write_site(store_records(hostile_store), tmp_path / "site")
    for file in [*root.rglob("*.html"), *root.rglob("*.js")]:
        assert "<img src=x" not in file.read_text() and "</script>&" not in file.read_text(), file
    task = next(root.glob("task-*.html"))
    out = probe(task, "function run() { return {names: [...document.querySelectorAll('#board a')]"
                ".map(a => a.textContent)}; }")
    assert out["errors"] == [] and out["images"] == 0 and HOSTILE in out["names"]
    page = root / "act" / f"{page_name(HOSTILE)}.html"
    shown = probe(page, "function run() { return {title: document.querySelector('h1').textContent}; }")
    assert shown["errors"] == [] and shown["title"] == HOSTILE and shown["images"] == 0


def test_a_failed_write_leaves_the_earlier_site_whole(site, tmp_path, monkeypatch):
    from actlab.report.site import plot

    root, records = site
    out = write_site(records[:4], tmp_path / "site")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))

    def broken(act, label):
        raise RuntimeError("disk trouble")

    monkeypatch.setattr(plot, "plot_svg", broken)
    with pytest.raises(RuntimeError, match="disk trouble"):
        write_site(records, tmp_path / "site")
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no staging folder left behind
    monkeypatch.undo()
    replaced = write_site(records, tmp_path / "site")
    assert len(list((replaced / "act").iterdir())) == 4 and [p.name for p in tmp_path.iterdir()] == ["site"]
    assert oct(replaced.stat().st_mode & 0o777) == oct(0o755)


def test_significance_reads_the_direction_of_the_metric():
    test = {"statistic": 3.0, "p_value": 0.001, "p_holm": 0.004}
    assert significance(test) == "better" and significance(test, loss=True) == "worse"
    assert significance({**test, "statistic": -3.0}, loss=True) == "better"
    assert significance({**test, "p_holm": 0.2}) is None and significance(None) is None


def test_a_long_leaderboard_is_shown_fifty_rows_a_page(site, tmp_path):
    import copy

    _, records = site
    task = [r for r in records if r["task"]["settings"]["lr"] == 0.1]
    many = []
    for i in range(120):  # the same results under 120 names (unknown here: pages without plots)
        record = copy.deepcopy(task[i % len(task)])
        record["activation"].update(name=f"act{i:03d}", label=f"act{i:03d}")
        record["summary"]["rank"] = i + 1
        many.append(record)
    root = write_site(many, tmp_path / "site")
    pager = """function run() {
      const rows = () => document.querySelectorAll('#board tbody tr').length;
      const out = {pages: [rows()], text: [document.getElementById('page').textContent]};
      while (!document.getElementById('next').disabled) {
        document.getElementById('next').click(); out.pages.push(rows());
        out.text.push(document.getElementById('page').textContent);
      }
      document.getElementById('prev').click(); out.back = document.getElementById('page').textContent;
      return out;
    }"""
    out = probe(next(root.glob("task-*.html")), pager)
    assert out["errors"] == [] and out["pages"] == [50, 50, 20]
    assert out["text"] == ["page 1 of 3", "page 2 of 3", "page 3 of 3"] and out["back"] == "page 2 of 3"
