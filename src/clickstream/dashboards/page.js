"use strict";
// Every string below may come from an event typed by a stranger: it reaches the DOM as text only.
const SPEC = JSON.parse(document.getElementById("spec").textContent);
const state = {};
let timer = null, inflight = false;

function fmt(v, format) {
  if (v === null || v === undefined) return "–";
  if (typeof v !== "number") return String(v);
  if (format === "percent_2") return (v * 100).toFixed(2) + "%";
  if (format === "decimal_2") return v.toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});
  return Number.isInteger(v) ? v.toLocaleString("en-US") : v.toLocaleString("en-US", {maximumFractionDigits: 2});
}

// 9,435,885.12 as 9.44M: the full value stays in the tile's title (hover), the box shows what fits.
function abbreviate(v) {
  if (typeof v !== "number" || Math.abs(v) < 1e4) return null;
  for (const [div, unit] of [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]]) {
    if (Math.abs(v) >= div) return (v / div).toLocaleString("en-US", {maximumFractionDigits: 2}) + unit;
  }
  return null;
}

// Gold holds a minute as UTC without a zone; read it as UTC.
function minuteMs(x) {
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(x) ? x : x + "Z");
}

function utcPlotDate(ms) {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

function fitKpi(body, value, v) {
  value.style.fontSize = "";
  const fits = () => value.scrollWidth <= body.clientWidth && value.scrollHeight <= body.clientHeight;
  if (fits()) return;
  const short = abbreviate(v);
  if (short !== null) value.textContent = short;
  // Last resort for a narrow window: smaller type rather than a scrollbar.
  for (let px = 28; !fits() && px >= 10; px -= 2) value.style.fontSize = px + "px";
}

function noData(body) {
  Plotly.purge(body);
  delete body.dataset.values;
  const hint = document.createElement("div");
  hint.className = "empty";
  hint.textContent = "no data yet";
  body.replaceChildren(hint);
}

// Plotly parses a subset of HTML in labels, tick text and hover text (<a href>, <b>, entities):
// escaped, a value is shown literally and nothing in it becomes a link or markup.
function plotText(v) {
  if (v === null || v === undefined) return v;
  return String(v).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function child(parent, tag, className) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  parent.appendChild(el);
  return el;
}

function buildFilters() {
  const box = document.getElementById("filters");
  for (const f of SPEC.filters) {
    const label = document.createElement("label");
    label.textContent = f.title;
    const sel = document.createElement("select");
    sel.name = f.name; sel.id = "filter-" + f.name;
    if (f.type === "date") {
      for (const [k, v] of Object.entries(f.options)) sel.add(new Option(v, k));
      sel.value = f.default || "all";
    } else {
      sel.add(new Option("all", ""));
    }
    state[f.name] = sel.value;
    sel.addEventListener("change", () => { state[f.name] = sel.value; refresh(); });
    label.appendChild(sel); box.appendChild(label);
  }
}

function buildTiles() {
  const grid = document.getElementById("grid");
  for (const t of SPEC.tiles) {
    const el = document.createElement("div");
    el.className = "tile " + t.type; el.dataset.tile = t.name;
    el.style.gridColumn = (t.col + 1) + " / span " + t.width;
    el.style.gridRow = (t.row + 1) + " / span " + t.height;
    child(el, "h2").textContent = t.title;
    child(el, "div", "listens").textContent = "filters: " + (t.listens.join(", ") || "none");
    child(el, "div", "body");
    grid.appendChild(el);
  }
}

function updateOptions(options) {
  for (const [name, values] of Object.entries(options)) {
    const sel = document.getElementById("filter-" + name);
    const have = new Set(Array.from(sel.options).map(o => o.value));
    for (const v of values) if (!have.has(v)) sel.add(new Option(v, v));
  }
}

function render(t, rows) {
  const body = document.querySelector(`[data-tile="${t.name}"] .body`);
  const labels = t.fields.map(f => SPEC.labels[f]);
  if (t.type === "kpi") {
    const v = rows.length ? rows[0][0] : null;
    const value = document.createElement("div");
    value.className = "value";
    value.textContent = fmt(v, t.formats[0]);
    value.dataset.value = v === null ? "" : v;
    value.title = value.textContent;
    body.replaceChildren(value);
    fitKpi(body, value, v);
    return;
  }
  if (t.drop_open_minute) {
    const open = Math.floor(Date.now() / 60000) * 60000;
    rows = rows.filter(r => !(minuteMs(r[0]) >= open));
  }
  if (!rows.length && t.type !== "funnel") {
    noData(body);
    return;
  }
  if (t.type === "table") {
    // Cells hold event values (page URLs, product ids): built as text nodes, never parsed as HTML.
    const cell = (tag, i, text) => {
      const c = document.createElement(tag);
      c.className = i ? "num" : "";
      c.textContent = text;
      return c;
    };
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    labels.forEach((l, i) => head.appendChild(cell("th", i, l)));
    const tbody = table.createTBody();
    for (const r of rows) {
      const tr = tbody.insertRow();
      r.forEach((v, i) => {
        const td = cell("td", i, fmt(v, t.formats[i]));
        td.dataset.value = v === null ? "" : v;
        tr.appendChild(td);
      });
    }
    body.replaceChildren(table);
    return;
  }
  let traces;
  // automargin: plotly widens a margin to fit its tick labels instead of clipping them.
  const layout = {margin: {l: 50, r: 10, t: 5, b: 30}, showlegend: t.type === "timeseries" && t.fields.length > 2, legend: {orientation: "h"},
                  xaxis: {automargin: true}, yaxis: {automargin: true}};
  if (t.type === "timeseries") {
    const x = rows.map(r => r[0]);
    if (new Set(x).size === 1) {
      // One minute alone gives plotly a zero-width range, ticked in fractions of a millisecond.
      const at = minuteMs(x[0]);
      layout.xaxis = {automargin: true, type: "date", range: [utcPlotDate(at - 60000), utcPlotDate(at + 60000)], tickformat: "%H:%M", dtick: 60000};
    }
    traces = t.fields.slice(1).map((f, i) => ({x, y: rows.map(r => r[i + 1]), name: plotText(labels[i + 1]), type: "scatter", mode: rows.length < 30 ? "lines+markers" : "lines"}));
  } else if (t.type === "bar") {
    // Categories are event values: a category axis never reads "2026-01-01" or "1e9" as a date or number.
    traces = [{x: rows.map(r => r[1]), y: rows.map(r => plotText(r[0])), type: "bar", orientation: "h"}];
    layout.yaxis = {autorange: "reversed", type: "category", automargin: true}; layout.margin.l = 110;
  } else if (t.type === "funnel") {
    const r = rows[0] || [];
    traces = [{type: "funnel", y: labels.map(plotText), x: r, textinfo: "value+percent initial"}];
    layout.margin.l = 130;
  }
  body.dataset.values = JSON.stringify(rows);
  Plotly.react(body, traces, layout, {displayModeBar: false, responsive: true});
}

async function refresh() {
  if (inflight) return;
  inflight = true;
  const qs = new URLSearchParams(Object.entries(state).filter(([k, v]) => v)).toString();
  try {
    const res = await fetch("/api/data?" + qs, {cache: "no-store"});
    const data = await res.json();
    if (!res.ok) throw new Error(String(data.error || res.status));
    updateOptions(data.options);
    for (const t of SPEC.tiles) render(t, data.tiles[t.name] || []);
    document.body.dataset.batch = data.batch_id;
    document.body.dataset.query = qs;
    document.getElementById("status").textContent =
      `batch ${data.batch_id} · committed ${data.committed_at ? data.committed_at.replace("T", " ").slice(0, 19) + " UTC" : "–"} · read ${data.cached ? "cached" : data.query_ms + " ms, " + (data.bytes_scanned / 1e6).toFixed(1) + " MB scanned"} · refresh ${SPEC.refresh_ms / 1000}s`;
    if (!document.body.dataset.firstRenderMs) document.body.dataset.firstRenderMs = Math.round(performance.now());
  } catch (e) {
    document.getElementById("status").textContent = "refresh failed: " + e.message;
  } finally {
    inflight = false;
  }
}

buildFilters();
buildTiles();
refresh();
timer = setInterval(refresh, SPEC.refresh_ms);
