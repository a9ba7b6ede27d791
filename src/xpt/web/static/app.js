// xpt ui: the experiments page. Plain JS, no build step; data from the JSON API (docs/ui.md).
"use strict";

const S = {
  info: null, version: null, items: [], columns: [], hidden: new Set(), hiddenSeen: new Set(),
  sort: null, text: "", thresholds: [], selected: [], showCkpt: false, tab: "table",
  queue: { entries: [], workers: 0 }, diffCache: new Map(), plotsKey: null,
};
const $ = (sel) => document.querySelector(sel);
const esc = (v) => String(v).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const PALETTE = ["#3759d7", "#d9480f", "#2b8a3e", "#ae3ec9", "#e8590c", "#1098ad", "#c92a2a", "#5c940d", "#862e9c", "#364fc7"];

// ---------------------------------------------------------------- API
async function api(path, body) {
  const opts = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const res = await fetch(path, opts);
  let data = null;
  try { data = await res.json(); } catch (e) { data = { error: `HTTP ${res.status}` }; }
  if (!res.ok) { const err = new Error(data.error || `HTTP ${res.status}`); err.hint = data.hint; err.status = res.status; throw err; }
  return data;
}
function toast(msg, isError) {
  const t = $("#toast");
  t.textContent = msg; t.className = isError ? "error" : ""; t.hidden = false;
  clearTimeout(toast.timer); toast.timer = setTimeout(() => { t.hidden = true; }, isError ? 8000 : 4000);
}

// ---------------------------------------------------------------- data
function flatten(obj, prefix, out) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) flatten(v, key, out);
    else out[key] = v;
  }
  return out;
}
// column key "section:file:path" -> its parts (keys are never split: names may hold ':')
const COLS = new Map();
function colKey(sec, file, path) {
  const key = `${sec}:${file}:${path}`;
  if (!COLS.has(key)) COLS.set(key, { key, sec, file, path });
  return key;
}
function values(data) {
  const vals = {};
  if (!data) return vals;
  for (const sec of ["params", "metrics"]) {
    for (const [file, item] of Object.entries(data[sec] || {})) {
      if (!item || !item.data) continue;
      for (const [k, v] of Object.entries(flatten(item.data, "", {}))) vals[colKey(sec, file, k)] = v;
    }
  }
  for (const [path, dep] of Object.entries(data.deps || {})) vals[colKey("deps", "", path)] = dep && dep.hash ? dep.hash.slice(0, 7) : null;
  return vals;
}
function toItems(rows) {
  const items = [];
  const ids = new Set();
  const uniq = (rev) => { let id = rev, n = 1; while (ids.has(id)) id = `${rev}#${n++}`; ids.add(id); return id; };
  const add = (rev, extra) => items.push(Object.assign({
    id: uniq(rev.rev), rev: rev.rev, name: rev.name, data: rev.data, error: rev.error,
    created: rev.data && rev.data.timestamp, vals: values(rev.data),
    live: !!(rev.data && rev.data.meta && rev.data.meta.live),
  }, extra));
  for (const row of rows) {
    const kind = row.rev === "workspace" ? "workspace" : "baseline";
    add(row, { kind, label: row.rev === "workspace" ? "workspace" : (row.name || row.rev.slice(0, 7)), baseline: null, state: "" });
    for (const exp of row.experiments || []) {
      const revs = exp.revs || [];
      const state = (exp.executor && exp.executor.state) || (revs[0] && revs[0].error ? "failed" : "success");
      revs.forEach((rev, i) => add(rev, {
        kind: i === 0 ? "experiment" : "checkpoint",
        label: i === 0 ? (exp.name || rev.name || rev.rev.slice(0, 7)) : rev.rev.slice(0, 7),
        expName: exp.name, baseline: row.rev, state: i === 0 ? state : "checkpoint", checkpoints: revs.length > 1 ? revs.length : 0,
      }));
    }
  }
  return items;
}
function columnsOf(items) {
  const seen = new Map();
  for (const it of items) for (const k of Object.keys(it.vals)) if (!seen.has(k)) seen.set(k, it.vals[k]);
  const order = { params: 0, metrics: 1, deps: 2 };
  return [...seen.keys()].map((key) => COLS.get(key)).sort((a, b) => (order[a.sec] - order[b.sec]) || 0);
}
function colLabel(c) { return c.sec === "deps" ? c.path : `${c.file}:${c.path}`; }

// ---------------------------------------------------------------- table
function fmt(v) {
  if (v === null || v === undefined) return "-";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(parseFloat(v.toPrecision(5)));
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
function cmp(a, b) {
  const na = a === null || a === undefined, nb = b === null || b === undefined;
  if (na || nb) return na && nb ? 0 : na ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}
function passes(it) {
  if (!S.showCkpt && it.kind === "checkpoint") return false;
  for (const t of S.thresholds) {
    const v = it.vals[t.key];
    if (v === null || v === undefined) return false;
    const num = Number(t.value), isNum = typeof v === "number" && t.value.trim() !== "" && !Number.isNaN(num);
    const a = isNum ? v : String(v), b = isNum ? num : t.value;
    const ok = { ">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b, "=": a == b, "!=": a != b }[t.op]; // eslint-disable-line eqeqeq
    if (!ok) return false;
  }
  if (S.text) {
    const hay = [it.label, it.rev, it.state, it.name || "", ...visibleColumns().map((c) => fmt(it.vals[c.key]))].join(" ").toLowerCase();
    if (!hay.includes(S.text)) return false;
  }
  return true;
}
function visibleColumns() { return S.columns.filter((c) => !S.hidden.has(c.key)); }
function sortedItems() {
  const items = S.items.filter(passes);
  if (!S.sort) return items;
  const { key, dir } = S.sort;
  const get = key === "@name" ? (it) => it.label : key === "@created" ? (it) => it.created : key === "@state" ? (it) => it.state : (it) => it.vals[key];
  return items.map((it, i) => [it, i]).sort((x, y) => (cmp(get(x[0]), get(y[0])) * (dir === "desc" ? -1 : 1)) || x[1] - y[1]).map((p) => p[0]);
}
function renderTable() {
  const cols = visibleColumns();
  const sortCls = (k) => (S.sort && S.sort.key === k ? ` sorted-${S.sort.dir}` : "");
  // group header: one cell per run of columns with the same section and file
  let groups = '<tr><th colspan="4"></th>';
  for (let i = 0; i < cols.length;) {
    let j = i;
    while (j < cols.length && cols[j].sec === cols[i].sec && cols[j].file === cols[i].file) j++;
    groups += `<th class="grp" colspan="${j - i}">${esc(cols[i].sec)}${cols[i].file ? " · " + esc(cols[i].file) : ""}</th>`;
    i = j;
  }
  groups += "</tr>";
  let head = `<tr><th><input type="checkbox" id="sel-all" title="select all shown"></th>`
    + `<th class="sortable${sortCls("@name")}" data-sort="@name">Experiment</th>`
    + `<th class="sortable${sortCls("@created")}" data-sort="@created">Created</th>`
    + `<th class="sortable${sortCls("@state")}" data-sort="@state">State</th>`;
  for (const c of cols) head += `<th class="sortable sec-${c.sec}${sortCls(c.key)}" data-sort="${esc(c.key)}" title="${esc(c.sec + " · " + colLabel(c))}">${esc(c.path)}</th>`;
  $("#exp-table thead").innerHTML = groups + head + "</tr>";
  const items = sortedItems();
  const sel = new Set(S.selected);
  const parts = items.map((it) => rowHtml(it, cols, sel.has(it.id)));
  $("#exp-table tbody").innerHTML = parts.join("");
  $("#count").textContent = `(${items.length}/${S.items.length})`;
  $("#selcount").textContent = S.selected.length ? `(${S.selected.length})` : "";
}
function rowHtml(it, cols, selected) {
  let tr = `<tr data-rev="${esc(it.id)}" class="kind-${it.kind}${selected ? " selected" : ""}${it.live ? " live" : ""}">`
    + `<td><input type="checkbox" class="sel"${selected ? " checked" : ""}></td>`
    + `<td class="name" title="${esc(it.rev)}">${esc(it.label)}${it.checkpoints ? ` <span class="muted">(${it.checkpoints} checkpoints)</span>` : ""}${it.kind === "experiment" || it.kind === "checkpoint" ? ` <span class="muted">${esc(it.rev.slice(0, 7))}</span>` : ""}</td>`
    + `<td class="muted">${esc(it.created ? it.created.replace("T", " ") : "")}</td>`
    + `<td>${it.state ? `<span class="state state-${esc(it.state)}">${esc(it.state)}</span>` : ""}${it.error && it.state !== "failed" ? ` <span class="state state-failed" title="${esc(it.error.msg || "")}">error</span>` : ""}</td>`;
  for (const c of cols) {
    const v = it.vals[c.key];
    tr += `<td data-col="${esc(c.key)}" class="sec-${c.sec}${typeof v === "number" ? " num" : ""}">${esc(fmt(v))}</td>`;
  }
  return tr + "</tr>";
}
// Only running experiments changed: patch their rows (the whole table when a column is new
// or the order or filtering may depend on the new values).
function applyLive(live) {
  const known = new Set(S.columns.map((c) => c.key));
  const changed = [];
  for (const it of S.items) {
    const data = live[it.rev];
    if (!data || it.kind !== "experiment") continue;
    it.data = data; it.vals = values(data); it.live = true;
    changed.push(it);
  }
  const fresh = changed.some((it) => Object.keys(it.vals).some((k) => !known.has(k)));
  if (fresh || S.sort || S.text || S.thresholds.length) {
    S.columns = columnsOf(S.items);
    renderTable(); renderThresholdControls();
    return;
  }
  const cols = visibleColumns();
  const sel = new Set(S.selected);
  for (const it of changed) {
    const tr = document.querySelector(`#exp-table tbody tr[data-rev="${CSS.escape(it.id)}"]`);
    if (tr) tr.outerHTML = rowHtml(it, cols, sel.has(it.id));
  }
}
function renderThresholdControls() {
  const sel = $("#thr-col"), cur = sel.value;
  sel.innerHTML = S.columns.filter((c) => c.sec !== "deps").map((c) => `<option value="${esc(c.key)}">${esc(c.sec + ": " + colLabel(c))}</option>`).join("");
  if (cur) sel.value = cur;
  $("#thr-list").innerHTML = S.thresholds.map((t, i) => {
    const c = S.columns.find((x) => x.key === t.key);
    return `<span class="chip" data-i="${i}" title="remove this filter">${esc((c ? c.path : "?") + " " + t.op + " " + t.value)}</span>`;
  }).join("");
}
function renderColumnChooser() {
  const bySec = {};
  for (const c of S.columns) (bySec[`${c.sec}:${c.file}`] ||= []).push(c);
  $("#columns").innerHTML = Object.entries(bySec).map(([g, cols]) => {
    const { sec, file } = cols[0];
    return `<fieldset><legend>${esc(sec)}${file ? " · " + esc(file) : ""} <button class="grp-all" data-g="${esc(g)}">all</button> <button class="grp-none" data-g="${esc(g)}">none</button></legend>`
      + cols.map((c) => `<label><input type="checkbox" data-key="${esc(c.key)}"${S.hidden.has(c.key) ? "" : " checked"}> ${esc(c.path)}</label>`).join("")
      + "</fieldset>";
  }).join("") || '<span class="muted">no columns</span>';
}

// ---------------------------------------------------------------- compare
function selectedItems() {
  const byRev = new Map(S.items.map((it) => [it.id, it]));
  return S.selected.map((r) => byRev.get(r)).filter(Boolean);
}
function compareColumns(items) {
  return S.columns.filter((c) => c.sec !== "deps" && !S.hidden.has(c.key) && items.some((it) => it.vals[c.key] !== undefined));
}
async function renderCompare() {
  const items = selectedItems();
  $("#compare-hint").hidden = items.length >= 2;
  renderParcoords(items);
  await renderDiff(items);
  renderPlots(items);
}
function revArg(it) { return it.rev; }
async function renderDiff(items) {
  if (items.length < 1) { $("#diff").innerHTML = ""; return; }
  const cols = compareColumns(items);
  const base = items[0];
  const deltas = {};
  await Promise.all(items.slice(1).map(async (it) => {
    const key = `${S.version.slice(0, 16)}|${base.rev}|${it.rev}`;  // rows, not live data
    if (!S.diffCache.has(key)) {
      try { S.diffCache.set(key, await api(`/api/diff?a=${encodeURIComponent(revArg(base))}&b=${encodeURIComponent(revArg(it))}`)); } catch (e) { S.diffCache.set(key, { error: e.message }); }
    }
    deltas[it.rev] = S.diffCache.get(key);
  }));
  let html = '<table id="diff-table"><thead><tr><th>section</th><th>file</th><th>key</th>';
  items.forEach((it, i) => { html += `<th><i style="background:${PALETTE[i % PALETTE.length]};display:inline-block;width:10px;height:10px"></i> ${esc(it.label)}</th>`; });
  html += "</tr></thead><tbody>";
  for (const c of cols) {
    const vals = items.map((it) => it.vals[c.key]);
    const differs = vals.some((v) => JSON.stringify(v) !== JSON.stringify(vals[0]));
    html += `<tr data-key="${esc(c.key)}"${differs ? ' class="differs"' : ""}><td>${esc(c.sec)}</td><td class="muted">${esc(c.file)}</td><td>${esc(c.path)}</td>`;
    items.forEach((it, i) => {
      let cell = esc(fmt(vals[i]));
      if (i > 0 && c.sec === "metrics") {
        const d = deltas[it.rev] && deltas[it.rev].metrics && deltas[it.rev].metrics[c.file] && deltas[it.rev].metrics[c.file][c.path];
        if (d && typeof d.diff === "number" && d.diff !== 0) cell += ` <span class="${d.diff > 0 ? "delta-pos" : "delta-neg"}">(${d.diff > 0 ? "+" : ""}${esc(fmt(d.diff))})</span>`;
      }
      const changed = i > 0 && JSON.stringify(vals[i]) !== JSON.stringify(vals[0]);
      html += `<td class="${typeof vals[i] === "number" ? "num" : ""}${changed ? " changed" : ""}">${cell}</td>`;
    });
    html += "</tr>";
  }
  html += "</tbody></table>";
  const errs = Object.values(deltas).filter((d) => d && d.error).map((d) => d.error);
  if (errs.length) html += `<p class="muted">diff: ${esc(errs.join("; "))}</p>`;
  $("#diff").innerHTML = html;
}
function renderParcoords(items) {
  const el = $("#parcoords");
  if (items.length < 2) { el.innerHTML = ""; return; }
  const all = compareColumns(items);
  const varying = all.filter((c) => items.some((it) => JSON.stringify(it.vals[c.key]) !== JSON.stringify(items[0].vals[c.key])));
  const cols = (varying.length ? varying : all).slice(0, 16);
  if (!cols.length) { el.innerHTML = '<p class="muted">no params or metrics to draw</p>'; return; }
  const W = Math.max(480, 130 * cols.length), H = 300, top = 40, bottom = 30, left = 60;
  const step = cols.length > 1 ? (W - 2 * left) / (cols.length - 1) : 0;
  const scales = cols.map((c) => {
    const vs = items.map((it) => it.vals[c.key]).filter((v) => v !== null && v !== undefined);
    if (vs.length && vs.every((v) => typeof v === "number")) {
      let lo = Math.min(...vs), hi = Math.max(...vs);
      if (lo === hi) { lo -= 1; hi += 1; }
      return { num: true, lo, hi, y: (v) => top + (1 - (v - lo) / (hi - lo)) * (H - top - bottom) };
    }
    const cats = [...new Set(vs.map(fmt))].sort();
    return { num: false, cats, y: (v) => top + (cats.length < 2 ? 0.5 : 1 - cats.indexOf(fmt(v)) / (cats.length - 1)) * (H - top - bottom) };
  });
  let svg = `<svg id="parcoords-svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg">`;
  cols.forEach((c, i) => {
    const x = left + i * step, sc = scales[i];
    svg += `<g class="axis"><line x1="${x}" y1="${top}" x2="${x}" y2="${H - bottom}"/>`
      + `<text x="${x}" y="${top - 22}" text-anchor="middle" font-weight="600">${esc(c.path)}</text>`
      + `<text x="${x}" y="${top - 8}" text-anchor="middle" class="muted">${esc(c.sec)}</text>`;
    if (sc.num) svg += `<text x="${x + 4}" y="${top + 4}">${esc(fmt(sc.hi))}</text><text x="${x + 4}" y="${H - bottom}">${esc(fmt(sc.lo))}</text>`;
    else sc.cats.forEach((cat) => { svg += `<text x="${x + 4}" y="${sc.y(cat) + 4}">${esc(cat)}</text>`; });
    svg += "</g>";
  });
  items.forEach((it, n) => {
    let d = "", pen = "M";
    cols.forEach((c, i) => {
      const v = it.vals[c.key];
      if (v === null || v === undefined) { pen = "M"; return; }
      d += `${pen}${(left + i * step).toFixed(1)},${scales[i].y(v).toFixed(1)} `; pen = "L";
    });
    svg += `<path class="pc" data-rev="${esc(it.rev)}" d="${d.trim()}" stroke="${PALETTE[n % PALETTE.length]}"><title>${esc(it.label)}</title></path>`;
  });
  svg += "</svg>";
  el.innerHTML = svg + '<div class="legend">' + items.map((it, n) => `<span><i style="background:${PALETTE[n % PALETTE.length]}"></i>${esc(it.label)}</span>`).join("") + "</div>";
}
function loadScript(src) {
  return new Promise((resolve, reject) => {
    const el = document.createElement("script");
    el.src = src; el.onload = resolve; el.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.appendChild(el);
  });
}
let vegaReady = null;
function loadVega() {  // ~0.8 MB: only once the compare view shows plots
  vegaReady ||= ["vega.min.js", "vega-lite.min.js", "vega-embed.min.js"].reduce((p, f) => p.then(() => loadScript(`/static/vega/${f}`)), Promise.resolve());
  return vegaReady;
}
async function renderPlots(items) {
  const el = $("#plots");
  if (items.length < 1) { el.innerHTML = ""; S.plotsKey = null; return; }
  const key = S.version.slice(0, 16) + "|" + items.map((it) => it.rev).join(",");
  if (S.plotsKey === key) return;
  S.plotsKey = key;
  const qs = items.map((it) => "rev=" + encodeURIComponent(it.rev)).join("&");
  try {
    const [doc] = await Promise.all([api(`/api/plots?${qs}`), loadVega()]);
    if (S.plotsKey !== key) return;
    const plots = Object.entries(doc.data || {});
    const errs = (doc.errors || []).map((e) => `${e.rev || ""} ${e.source || e.name || ""}: ${e.msg}`);
    if (!plots.length) { el.innerHTML = `<p class="muted">no plots in these revisions${errs.length ? ": " + esc(errs.join("; ")) : ""}</p>`; return; }
    el.innerHTML = "";
    for (const [name, parts] of plots) {
      const box = document.createElement("div");
      box.className = "plot"; box.dataset.plot = name;
      el.appendChild(box);
      for (const part of parts) {
        if (part.type === "vega") {
          const div = document.createElement("div");
          box.appendChild(div);
          window.vegaEmbed(div, part.content, { renderer: "svg", actions: false }).catch((e) => { div.textContent = `${name}: ${e.message}`; });
        } else if (part.type === "image" && String(part.url).startsWith("data:image")) {
          const fig = document.createElement("figure");
          const img = document.createElement("img");
          img.src = part.url; img.alt = name; img.style.maxWidth = "320px";
          const cap = document.createElement("figcaption");
          cap.textContent = `${name} · ${(part.revisions || []).join(", ")}`;
          fig.append(img, cap); box.appendChild(fig);
        }
      }
    }
    if (errs.length) el.insertAdjacentHTML("beforeend", `<p class="muted">${esc(errs.join("; "))}</p>`);
  } catch (e) {
    S.plotsKey = null;
    el.innerHTML = `<p class="muted">plots: ${esc(e.message)}</p>`;
  }
}

// ---------------------------------------------------------------- queue
function renderQueue() {
  const q = S.queue;
  $("#qcount").textContent = q.entries.length ? `(${q.entries.filter((e) => e.state === "queued" || e.state === "running").length})` : "";
  $("#q-workers").textContent = `${q.workers} worker(s) running`;
  const t = (s) => (s ? new Date(s * 1000).toLocaleTimeString() : "");
  $("#queue").innerHTML = q.entries.length ? q.entries.slice().reverse().map((e) => `
    <div class="q-entry" data-id="${e.id}" data-state="${esc(e.state)}">
      <b>${esc(e.name)}</b> <span class="state state-${esc(e.state)}">${esc(e.state)}</span>
      <span class="muted">queued ${t(e.created)}${e.started ? ", started " + t(e.started) : ""}${e.finished ? ", finished " + t(e.finished) : ""}${e.error ? " — " + esc(e.error) : ""}</span>
      <pre>${esc(e.log_tail || "(no log yet)")}</pre>
    </div>`).join("") : '<p class="muted">The queue is empty.</p>';
}
function renderQueueForm() {
  const base = selectedItems()[0] || S.items.find((it) => it.kind === "workspace") || S.items[0];
  $("#q-base").textContent = base ? base.label : "the workspace";
  const cols = S.columns.filter((c) => c.sec === "params");
  $("#q-params").innerHTML = cols.map((c) => {
    const v = base ? base.vals[c.key] : undefined;
    const shown = v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v);
    return `<label for="qp-${esc(c.key)}">${esc(colLabel(c))}</label><input id="qp-${esc(c.key)}" data-key="${esc(c.key)}" data-orig="${esc(shown)}" value="${esc(shown)}">`;
  }).join("");
}
function queueOverrides() {
  const ws = S.items.find((it) => it.kind === "workspace");
  const out = [];
  for (const input of document.querySelectorAll("#q-params input")) {
    const c = S.columns.find((x) => x.key === input.dataset.key);
    const cur = ws ? ws.vals[c.key] : undefined;
    const curText = cur === undefined ? "" : typeof cur === "string" ? cur : JSON.stringify(cur);
    if (input.value !== curText && input.value !== "") out.push(`${c.file}:${c.path}=${input.value}`);
  }
  return out;
}

// ---------------------------------------------------------------- actions
async function act(name, body, done) {
  try {
    const res = await api(`/api/actions/${name}`, body);
    toast(done(res));
    await poll(true);
  } catch (e) {
    toast(`${e.message}${e.hint ? "\nhint: " + e.hint : ""}`, true);
  }
}
function oneExperiment(verb) {
  const items = selectedItems();
  if (items.length !== 1) { toast(`select one experiment to ${verb}`, true); return null; }
  return items[0].expName || items[0].name || items[0].rev;
}

// ---------------------------------------------------------------- updates
async function poll(force) {
  try {
    const data = await api(`/api/experiments${S.version && !force ? "?since=" + S.version : ""}`);
    $("#live").className = "ok";
    $("#updated").textContent = "updated " + new Date().toLocaleTimeString();
    if (data.live) {
      S.version = data.version;
      applyLive(data.live);
      if (S.tab === "compare") renderCompare();
    } else if (!data.unchanged) {
      S.version = data.version;
      S.items = toItems(data.rows);
      S.columns = columnsOf(S.items);
      for (const c of S.columns) if (!S.hiddenSeen.has(c.key)) { S.hiddenSeen.add(c.key); if (c.sec === "deps") S.hidden.add(c.key); }
      const known = new Set(S.items.map((it) => it.id));
      S.selected = S.selected.filter((r) => known.has(r));
      renderTable(); renderThresholdControls();
      if (S.tab === "compare") renderCompare();
      window.__xptRendered = (window.__xptRendered || 0) + 1;
      window.__xptFirstRender ||= performance.now();  // ms since navigation (bench/fig_ui.py)
    }
  } catch (e) {
    $("#live").className = "down";
    $("#updated").textContent = "server unreachable: " + e.message;
  }
  try { S.queue = await api("/api/queue"); renderQueue(); } catch (e) { /* shown by the experiments poll */ }
}
async function loop() {
  await poll(false);
  setTimeout(loop, (S.info && S.info.poll_ms) || 1000);
}

// ---------------------------------------------------------------- wiring
function showTab(name) {
  S.tab = name;
  for (const b of document.querySelectorAll("button.tab")) b.classList.toggle("active", b.dataset.tab === name);
  for (const p of ["table", "compare", "queue"]) $(`#tab-${p}`).hidden = p !== name;
  if (name === "compare") renderCompare();
  if (name === "queue") renderQueueForm();
}
function wire() {
  for (const b of document.querySelectorAll("button.tab")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("#filter-text").addEventListener("input", (e) => { S.text = e.target.value.trim().toLowerCase(); renderTable(); });
  $("#thr-add").addEventListener("click", () => {
    const value = $("#thr-val").value.trim();
    if (!$("#thr-col").value || value === "") { toast("pick a column and a value", true); return; }
    S.thresholds.push({ key: $("#thr-col").value, op: $("#thr-op").value, value });
    renderThresholdControls(); renderTable();
  });
  $("#thr-list").addEventListener("click", (e) => {
    const chip = e.target.closest(".chip");
    if (chip) { S.thresholds.splice(Number(chip.dataset.i), 1); renderThresholdControls(); renderTable(); }
  });
  $("#show-ckpt").addEventListener("change", (e) => { S.showCkpt = e.target.checked; renderTable(); });
  $("#exp-table thead").addEventListener("click", (e) => {
    if (e.target.id === "sel-all") {
      const shown = sortedItems().map((it) => it.id);
      S.selected = e.target.checked ? [...new Set([...S.selected, ...shown])] : S.selected.filter((r) => !shown.includes(r));
      renderTable(); return;
    }
    const th = e.target.closest("th[data-sort]");
    if (!th) return;
    const key = th.dataset.sort;
    S.sort = S.sort && S.sort.key === key ? (S.sort.dir === "asc" ? { key, dir: "desc" } : null) : { key, dir: "asc" };
    renderTable();
  });
  $("#exp-table tbody").addEventListener("click", (e) => {
    const tr = e.target.closest("tr[data-rev]");
    if (!tr) return;
    const rev = tr.dataset.rev;
    const on = e.target.classList.contains("sel") ? e.target.checked : !S.selected.includes(rev);
    S.selected = on ? [...S.selected.filter((r) => r !== rev), rev] : S.selected.filter((r) => r !== rev);
    tr.classList.toggle("selected", on);
    tr.querySelector("input.sel").checked = on;
    $("#selcount").textContent = S.selected.length ? `(${S.selected.length})` : "";
  });
  $("#columns-btn").addEventListener("click", () => { const p = $("#columns"); p.hidden = !p.hidden; if (!p.hidden) renderColumnChooser(); });
  $("#columns").addEventListener("change", (e) => {
    const key = e.target.dataset.key;
    if (key) { if (e.target.checked) S.hidden.delete(key); else S.hidden.add(key); renderTable(); }
  });
  $("#columns").addEventListener("click", (e) => {
    const g = e.target.dataset.g;
    if (!g) return;
    for (const c of S.columns) if (`${c.sec}:${c.file}` === g) { if (e.target.classList.contains("grp-all")) S.hidden.delete(c.key); else S.hidden.add(c.key); }
    renderColumnChooser(); renderTable();
  });
  $("#act-apply").addEventListener("click", () => { const n = oneExperiment("apply"); if (n) act("apply", { experiment: n }, (r) => `applied ${r.applied}`); });
  $("#act-branch").addEventListener("click", () => {
    const n = oneExperiment("branch"); if (!n) return;
    const b = window.prompt("name of the new git branch", `${n}-branch`);
    if (b) act("branch", { experiment: n, branch: b }, (r) => `created branch ${r.branch}`);
  });
  $("#act-remove").addEventListener("click", () => {
    const names = selectedItems().filter((it) => it.kind === "experiment").map((it) => it.expName || it.rev);
    if (!names.length) { toast("select experiments to remove", true); return; }
    if (window.confirm(`remove ${names.length} experiment(s)?`)) act("remove", { experiments: names }, (r) => `removed ${r.removed.join(", ")}`);
  });
  $("#q-start").addEventListener("click", () => act("queue-start", { jobs: Number($("#q-jobs").value) || 1 }, (r) => `started a worker (pid ${r.pid})`));
  $("#q-stop").addEventListener("click", () => act("queue-stop", { kill: false }, (r) => `asked ${r.workers} worker(s) to stop`));
  $("#q-kill").addEventListener("click", () => act("queue-stop", { kill: true }, (r) => `asked ${r.workers} worker(s) to stop, killed running experiments`));
  $("#q-submit").addEventListener("click", () => {
    const name = $("#q-name").value.trim();
    act("queue", { params: queueOverrides(), ...(name ? { name } : {}) }, (r) => `queued ${r.queued.join(", ")}`);
  });
  document.addEventListener("click", (e) => { if (!e.target.closest("#columns, #columns-btn")) $("#columns").hidden = true; });
}
async function main() {
  wire();
  const info = api("/api/info").catch(() => ({ allow_actions: false, poll_ms: 1000, project: "" }));
  loop();  // the table does not wait for the header
  S.info = await info;
  $("#project").textContent = S.info.project;
  const m = $("#mode");
  m.textContent = S.info.allow_actions ? "actions allowed" : "read-only";
  m.className = "badge" + (S.info.allow_actions ? " rw" : "");
  m.title = S.info.allow_actions ? "this page can change the repository" : "start `xpt ui --allow-actions` to queue, apply, branch or remove";
}
main();
