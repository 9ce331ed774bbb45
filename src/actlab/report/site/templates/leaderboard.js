// The leaderboard of one task: rows from window.ACTLAB_TASK (a data file loaded by a <script> tag, so that the
// page works from file://), sorted by a header, filtered by family, class and properties, shown a page at a time.
// Every value is data: it reaches the page through textContent only.
(function () {
  "use strict";
  const task = window.ACTLAB_TASK;
  const PAGE = 50;
  const state = { key: "rank", descending: false, page: 0 };
  const $ = (id) => document.getElementById(id);

  function cell(tr, text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    tr.appendChild(td);
    return td;
  }
  // accuracies in percent; a regression task's losses as they are
  const pct = (v) => (v === null ? "—" : window.ACTLAB_TASK.percent ? (100 * v).toFixed(2) : v.toPrecision(4));
  const num = (v, digits) => (v === null ? "—" : v.toFixed(digits));

  function matches(row) {
    const family = $("family").value, cls = $("class").value;
    if (family && row.family !== family) return false;
    if (cls && row.class !== cls) return false;
    for (const prop of ["monotonic", "smooth", "bounded"]) {
      const wanted = $(prop).value;
      if (wanted && String(row[prop]) !== wanted) return false;
    }
    return true;
  }

  function compare(a, b) {
    const x = a[state.key], y = b[state.key];
    if (x === y) return a.rank - b.rank;
    if (x === null || x === undefined) return 1;  // missing values last, either way
    if (y === null || y === undefined) return -1;
    const order = typeof x === "string" ? x.localeCompare(y) : x - y;
    return state.descending ? -order : order;
  }

  function row(r) {
    const tr = document.createElement("tr");
    cell(tr, String(r.rank));
    const a = document.createElement("a");
    a.href = r.href;
    a.textContent = r.label;
    cell(tr, "", "name").appendChild(a);
    cell(tr, r.family === null ? "—" : r.family, "name");
    cell(tr, r.class === null ? "—" : r.class, "name");
    cell(tr, pct(r.final) + (r.std === null ? "" : " ± " + pct(r.std)));
    cell(tr, r.ci_low === null ? "—" : "[" + pct(r.ci_low) + ", " + pct(r.ci_high) + "]");
    cell(tr, pct(r.best));
    cell(tr, r.runs + " (" + r.diverged + " diverged)");
    cell(tr, num(r.spe_relu, 2));
    const mark = r.significance === "better" ? " ▲" : r.significance === "worse" ? " ▼" : "";
    cell(tr, r.p_holm === null ? "—" : r.p_holm.toPrecision(3) + mark, r.significance || "");
    tr.dataset.name = r.name;
    return tr;
  }

  function render() {
    const rows = task.rows.filter(matches).sort(compare);
    const pages = Math.max(1, Math.ceil(rows.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    const body = $("board").tBodies[0];
    body.replaceChildren(...rows.slice(state.page * PAGE, (state.page + 1) * PAGE).map(row));
    $("count").textContent = rows.length + " of " + task.rows.length + " activations";
    $("page").textContent = "page " + (state.page + 1) + " of " + pages;
    $("prev").disabled = state.page === 0;
    $("next").disabled = state.page >= pages - 1;
    for (const th of $("board").tHead.rows[0].cells) {
      th.setAttribute("aria-sort", th.dataset.key === state.key ? (state.descending ? "descending" : "ascending") : "none");
    }
  }

  function options(select, values) {
    for (const value of [...new Set(values.filter((v) => v !== null))].sort()) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = value;
      select.appendChild(option);
    }
  }

  options($("family"), task.rows.map((r) => r.family));
  options($("class"), task.rows.map((r) => r.class));
  for (const th of $("board").tHead.rows[0].cells) {
    th.querySelector("button").addEventListener("click", () => {
      state.descending = state.key === th.dataset.key ? !state.descending : th.dataset.key !== "rank" && th.dataset.key !== "label";
      state.key = th.dataset.key;
      render();
    });
  }
  for (const id of ["family", "class", "monotonic", "smooth", "bounded"]) {
    $(id).addEventListener("change", () => { state.page = 0; render(); });
  }
  $("prev").addEventListener("click", () => { state.page -= 1; render(); });
  $("next").addEventListener("click", () => { state.page += 1; render(); });
  render();
})();
