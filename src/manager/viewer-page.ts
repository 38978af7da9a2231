/**
 * The trace viewer: one static page (HTML, CSS and a small script, no framework, nothing to
 * build) over the JSON of `trace-server.ts`. It lists the parents with their health, a timeline
 * of each parent's reconciles, and a record's triggers beside its diffs; it filters by errors,
 * churn, kind and namespace, and follows new records live (server-sent events). Keyboard and
 * screen-reader friendly: real buttons and lists, visible focus, text beside every colour,
 * contrast above 4.5:1, and a polite live region for new records.
 *
 * The page is kept in this module, not in files beside it, so the published package (compiled
 * to `dist/`) carries it without a copy step.
 */
import { createHash } from "node:crypto";

const style = `
:root { color-scheme: light; --fg: #111; --muted: #4a4a4a; --bg: #fff; --panel: #f4f5f7;
  --line: #c9ccd1; --accent: #0b57d0; --focus: #0b57d0;
  --ok: #0b6b2f; --error: #b00020; --waiting: #7a4f00; --churn: #6a1b9a; --conflict: #9c3a00; --gone: #4a4a4a; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; padding: .6rem 1rem; border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.1rem; margin: 0; }
header .meta { color: var(--muted); }
#connection[data-state="live"]::before { content: "● "; color: var(--ok); }
#connection[data-state="down"]::before { content: "● "; color: var(--error); }
form.filters { display: flex; gap: 1rem; flex-wrap: wrap; align-items: center; padding: .5rem 1rem; background: var(--panel); border-bottom: 1px solid var(--line); }
form.filters label { display: inline-flex; gap: .35rem; align-items: center; }
select, input[type="search"] { font: inherit; padding: .15rem .3rem; border: 1px solid #767676; border-radius: 3px; background: #fff; color: var(--fg); }
main { display: grid; grid-template-columns: minmax(14rem, 20rem) minmax(18rem, 28rem) 1fr; min-height: calc(100vh - 6rem); }
main > section, main > nav { border-right: 1px solid var(--line); overflow: auto; max-height: calc(100vh - 6rem); }
h2 { font-size: 1rem; margin: .6rem .8rem; }
h3 { font-size: .95rem; margin: 1rem 0 .4rem; }
ul.list, ol.list { list-style: none; margin: 0; padding: 0; }
.list button { display: block; width: 100%; text-align: left; font: inherit; color: inherit; background: none; border: 0; border-bottom: 1px solid var(--line); padding: .45rem .8rem; cursor: pointer; }
.list button:hover { background: var(--panel); }
.list button[aria-current="true"] { background: #e3ecfd; box-shadow: inset 4px 0 0 var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: -3px; }
.name { font-weight: 600; overflow-wrap: anywhere; }
.sub { color: var(--muted); font-size: .85rem; overflow-wrap: anywhere; }
.clamp { display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: 3px; color: #fff; font-size: .8rem; font-weight: 600; white-space: nowrap; }
.badge.ok { background: var(--ok); } .badge.error { background: var(--error); } .badge.waiting { background: var(--waiting); }
.badge.not-converging { background: var(--churn); } .badge.conflict { background: var(--conflict); } .badge.gone { background: var(--gone); }
.empty { color: var(--muted); padding: .6rem .8rem; }
#record { padding: 0 1rem 1rem; }
.columns { display: grid; grid-template-columns: minmax(16rem, 1fr) minmax(20rem, 1.6fr); gap: 1.5rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
th, td { text-align: left; vertical-align: top; padding: .2rem .4rem; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
th { background: var(--panel); font-weight: 600; }
td.op { white-space: nowrap; font-weight: 600; }
tr.add td.op { color: var(--ok); } tr.remove td.op { color: var(--error); } tr.change td.op { color: var(--waiting); }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .85em; }
.error-box { border: 2px solid var(--error); background: #fdecee; padding: .5rem .7rem; margin: .6rem 0; border-radius: 3px; }
.child { border: 1px solid var(--line); border-radius: 3px; padding: .4rem .6rem; margin: .4rem 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .8rem; margin: .4rem 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
a { color: var(--accent); }
@media (max-width: 1000px) { main { grid-template-columns: 1fr; } main > section, main > nav { max-height: none; border-right: 0; border-bottom: 1px solid var(--line); } .columns { grid-template-columns: 1fr; } }
`;

const script = `
"use strict";
const state = { parents: [], records: [], selectedParent: null, selectedRecord: null, latestSeq: 0, filters: { errors: false, churn: false, kind: "", namespace: "", search: "" } };
const $ = (id) => document.getElementById(id);
function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}
const outcomeText = { ok: "ok", error: "error", waiting: "waiting", "not-converging": "not converging", conflict: "conflict", gone: "deleted" };
const badge = (outcome) => h("span", { class: "badge " + outcome }, outcomeText[outcome] || outcome);
const parentId = (p) => p.operator + "|" + p.key;
const when = (r) => (r.startedAtMs !== undefined ? r.startedAtMs : r.startedAt);
const time = (iso) => { const d = new Date(iso); return isNaN(d) ? iso : d.toLocaleTimeString(undefined, { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0"); };
const ms = (n) => (n === undefined ? "–" : (n < 10 ? n.toFixed(1) : Math.round(n)) + " ms");
const show = (v) => (v === undefined ? "" : typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v));
const objectName = (o) => o.kind + " " + (o.namespace ? o.namespace + "/" : "") + o.name;

function parentVisible(p) {
  const f = state.filters;
  if (f.kind && p.kind !== f.kind) return false;
  if (f.namespace && (p.namespace || "") !== f.namespace) return false;
  if (f.errors && p.errors === 0 && p.health !== "error") return false;
  if (f.churn && p.health !== "not-converging") return false;
  if (f.search && !(p.key + " " + p.kind + " " + p.operator).toLowerCase().includes(f.search.toLowerCase())) return false;
  return true;
}
function recordVisible(r) {
  const f = state.filters, p = state.selectedParent;
  if (p && (r.operator !== p.operator || r.key !== p.key)) return false;
  if (f.kind && r.kind !== f.kind) return false;
  if (f.namespace && (r.namespace || "") !== f.namespace) return false;
  if (f.errors && r.outcome !== "error") return false;
  if (f.churn && r.outcome !== "not-converging") return false;
  if (!p && f.search && !(r.key + " " + r.kind + " " + r.operator).toLowerCase().includes(f.search.toLowerCase())) return false;
  return true;
}
function changeSummary(r) {
  if (r.error) return r.error.message;
  const parts = [];
  const count = {};
  for (const c of r.children) if (c.action !== "unchanged") count[c.action] = (count[c.action] || 0) + 1;
  for (const [action, n] of Object.entries(count)) parts.push(action + " " + n);
  if (r.statusWritten) parts.push("status written");
  if (r.finalizer) parts.push("finalizer " + r.finalizer);
  return parts.length ? parts.join(", ") : "no changes";
}

function renderFilters() {
  const kinds = [...new Set(state.parents.map((p) => p.kind))].sort();
  const namespaces = [...new Set(state.parents.map((p) => p.namespace || ""))].sort();
  for (const [id, values, current, label] of [["kind", kinds, state.filters.kind, "All kinds"], ["namespace", namespaces, state.filters.namespace, "All namespaces"]]) {
    const select = $(id);
    const options = [h("option", { value: "" }, label), ...values.map((v) => h("option", { value: v, selected: v === current }, v === "" ? "(cluster-scoped)" : v))];
    if (select.options.length !== options.length || [...select.options].some((o, i) => o.value !== options[i].value)) select.replaceChildren(...options);
    select.value = current;
  }
}

function renderParents() {
  renderFilters();
  const list = $("parents");
  const visible = state.parents.filter(parentVisible);
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.parent : undefined;
  list.replaceChildren(
    h("li", {}, h("button", { type: "button", "aria-current": state.selectedParent ? "false" : "true", onclick: () => selectParent(null), "data-parent": "" }, h("span", { class: "name" }, "All parents"), h("div", { class: "sub" }, state.parents.length + " parents, latest reconciles"))),
    ...visible.map((p) => h("li", {}, h("button", { type: "button", "data-parent": parentId(p), "aria-current": state.selectedParent && parentId(state.selectedParent) === parentId(p) ? "true" : "false", onclick: () => selectParent(p) },
      h("div", {}, badge(p.health), " ", h("span", { class: "name" }, p.key)),
      h("div", { class: "sub" }, p.kind + " · " + p.operator + " · " + p.reconciles + " reconciles" + (p.errors ? ", " + p.errors + " failed" : "")),
      p.health !== "ok" ? h("div", { class: "sub clamp" }, p.summary) : null))),
  );
  if (visible.length === 0) list.append(h("li", { class: "empty" }, state.parents.length ? "No parent matches the filters." : "No reconciles yet."));
  if (focused !== undefined) { const again = list.querySelector('[data-parent="' + CSS.escape(focused) + '"]'); if (again) again.focus(); }
}

function renderTimeline() {
  const p = state.selectedParent;
  $("timeline-title").textContent = p ? "Reconciles of " + p.kind + " " + p.key : "Latest reconciles";
  const list = $("timeline");
  const visible = state.records.filter(recordVisible).slice().reverse();
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.record : undefined;
  list.replaceChildren(...visible.slice(0, 300).map((r) => h("li", {}, h("button", { type: "button", "data-record": r.reconcileId, "data-outcome": r.outcome, "aria-current": state.selectedRecord && state.selectedRecord.reconcileId === r.reconcileId ? "true" : "false", onclick: () => selectRecord(r) },
    h("div", {}, badge(r.outcome), " ", h("span", { class: "mono" }, time(when(r))), " ", h("span", { class: "sub" }, r.phase + " · " + (r.reasons.join(", ") || "–"))),
    p ? null : h("div", { class: "name" }, r.kind + " " + r.key),
    h("div", { class: "sub" }, changeSummary(r) + " · " + ms(r.durationMs))))));
  if (visible.length === 0) list.append(h("li", { class: "empty" }, "No reconcile matches."));
  if (focused) { const again = list.querySelector('[data-record="' + CSS.escape(focused) + '"]'); if (again) again.focus(); }
}

function diffTable(diff, caption) {
  if (!diff || diff.changes.length === 0) return h("p", { class: "sub" }, "No field changed.");
  const symbol = { add: "+ added", remove: "− removed", change: "~ changed" };
  return h("div", {},
    h("table", {}, h("caption", { class: "sr-only" }, caption),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, "Change"), h("th", { scope: "col" }, "Before"), h("th", { scope: "col" }, "After"))),
      h("tbody", {}, diff.changes.map((c) => h("tr", { class: c.op }, h("td", { class: "mono" }, c.path), h("td", { class: "op" }, symbol[c.op]), h("td", { class: "mono" }, show(c.before)), h("td", { class: "mono" }, show(c.after)))))),
    diff.omitted ? h("p", { class: "sub" }, diff.omitted + " more changes not listed.") : null);
}

function renderRecord() {
  const container = $("record");
  const r = state.selectedRecord;
  if (!r) { container.replaceChildren(h("p", { class: "empty" }, "Choose a reconcile to see why it ran and what it changed.")); return; }
  const linkTo = (id) => h("a", { href: "#record=" + encodeURIComponent(id), onclick: (e) => { e.preventDefault(); openRecord(id); } }, "reconcile " + id.slice(0, 8));
  const why = h("section", { "aria-labelledby": "why-title" }, h("h3", { id: "why-title" }, "Why it ran"),
    h("p", {}, "Reasons: ", r.reasons.join(", ") || "–"),
    r.triggers.length === 0 ? h("p", { class: "sub" }, "No watch event recorded (requeue, retry or manual).") :
    h("table", {}, h("caption", { class: "sr-only" }, "Triggers"), h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Reason"), h("th", { scope: "col" }, "Event"), h("th", { scope: "col" }, "Object"), h("th", { scope: "col" }, "resourceVersion"))),
      h("tbody", {}, r.triggers.map((t) => h("tr", {}, h("td", {}, t.reason, t.ownWrite ? " (own write)" : ""), h("td", {}, t.event || "–"), h("td", {}, t.object ? objectName(t.object) : "–", t.causedBy ? h("div", { class: "sub" }, "written by ", linkTo(t.causedBy)) : null), h("td", { class: "mono" }, t.object && t.object.resourceVersion || "–"))))),
    h("h3", {}, "Read (" + r.read.length + " objects)"),
    r.read.length === 0 ? h("p", { class: "sub" }, "Nothing recorded.") :
    h("details", { open: r.read.length <= 8 }, h("summary", {}, "Objects and versions"), h("table", {}, h("caption", { class: "sr-only" }, "Objects read"), h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Object"), h("th", { scope: "col" }, "resourceVersion"))),
      h("tbody", {}, r.read.map((o) => h("tr", {}, h("td", {}, objectName(o)), h("td", { class: "mono" }, o.resourceVersion || "–")))))));
  const facts = [["Outcome", badge(r.outcome)], ["Phase", r.phase], ["Started", new Date(when(r)).toISOString()], ["Took", ms(r.durationMs)], [r.call ? "In " + r.call.function : "User function", ms(r.functionMs)], ["In Operon's writes", ms(r.writesMs)], ["API writes", String(r.writes)], ["Next", r.next.kind + (r.next.afterMs !== undefined ? " in " + ms(r.next.afterMs) : "") + (r.next.because ? " (" + r.next.because + ")" : "")], ["Synced", r.synced ? r.synced.status + " · " + r.synced.reason + ": " + r.synced.message : "–"]];
  const did = h("section", { "aria-labelledby": "did-title" }, h("h3", { id: "did-title" }, "What it did"),
    r.error ? h("div", { class: "error-box", "data-error": "" }, h("strong", {}, "Error: "), r.error.message) : null,
    r.churn ? h("div", { class: "error-box" }, h("strong", {}, "Not converging: "), r.churn.message) : null,
    h("dl", { class: "facts" }, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("h3", {}, "Children"),
    r.children.length === 0 ? h("p", { class: "sub" }, "None.") : r.children.map((c) => h("div", { class: "child", "data-child": c.child },
      h("div", {}, h("span", { class: "name" }, c.child), " — ", h("strong", {}, c.action), c.writes ? " (" + c.writes + " write" + (c.writes > 1 ? "s" : "") + ")" : ""),
      c.message ? h("p", { class: "sub" }, c.message) : null,
      c.diff ? diffTable(c.diff, "Changes of " + c.child) : null)),
    r.childrenOmitted ? h("p", { class: "sub" }, r.childrenOmitted + " more children not listed.") : null,
    h("h3", {}, "Status"),
    r.statusWritten || r.statusDiff ? diffTable(r.statusDiff, "Status changes") : h("p", { class: "sub" }, "Unchanged, not written."),
    h("h3", {}, "Events"),
    r.events.length === 0 ? h("p", { class: "sub" }, "None.") : h("ul", {}, r.events.map((e) => h("li", {}, h("strong", {}, e.type + " " + e.reason), ": " + e.message))),
    h("h3", {}, "API writes"),
    r.apiWrites.length === 0 ? h("p", { class: "sub" }, "None recorded.") :
    h("table", {}, h("caption", { class: "sr-only" }, "API writes"), h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Verb"), h("th", { scope: "col" }, "Object"), h("th", { scope: "col" }, "At"), h("th", { scope: "col" }, "Took"), h("th", { scope: "col" }, "Result"))),
      h("tbody", {}, r.apiWrites.map((w) => h("tr", {}, h("td", {}, w.verb + (w.subresource ? " /" + w.subresource : "") + (w.dryRun ? " (dry run)" : "")), h("td", {}, w.kind + " " + (w.namespace ? w.namespace + "/" : "") + (w.name || "")), h("td", { class: "mono" }, "+" + ms(w.startOffsetMs)), h("td", { class: "mono" }, ms(w.durationMs)), h("td", {}, w.error ? "failed: " + w.error : "rv " + (w.resourceVersion || "–")))))));
  container.replaceChildren(h("h2", { id: "record-title" }, r.kind + " " + r.key + " · " + time(when(r))), h("div", { class: "columns" }, why, did));
}

async function getJson(path) {
  const response = await fetch(path, { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(path + ": " + response.status);
  return response.json();
}
async function loadParents() {
  const body = await getJson("/api/parents");
  state.parents = body.parents;
  $("size").textContent = body.size + " records kept (at most " + body.limits.perParent + " per parent, " + body.limits.total + " in all)";
  if (state.selectedParent) state.selectedParent = state.parents.find((p) => parentId(p) === parentId(state.selectedParent)) || state.selectedParent;
  renderParents();
}
async function loadRecords() {
  const p = state.selectedParent;
  const query = p ? "?operator=" + encodeURIComponent(p.operator) + "&key=" + encodeURIComponent(p.key) : "?limit=300";
  const body = await getJson("/api/records" + query);
  state.records = body.records;
  for (const r of state.records) state.latestSeq = Math.max(state.latestSeq, r.seq);
  renderTimeline();
}
async function selectParent(p) {
  state.selectedParent = p;
  state.selectedRecord = null;
  history.replaceState(null, "", p ? "#parent=" + encodeURIComponent(p.operator) + "/" + encodeURIComponent(p.key) : "#");
  renderParents();
  await loadRecords();
  renderRecord();
}
function selectRecord(r) {
  state.selectedRecord = r;
  history.replaceState(null, "", "#record=" + encodeURIComponent(r.reconcileId));
  renderTimeline();
  renderRecord();
}
async function openRecord(id) {
  const local = state.records.find((r) => r.reconcileId === id);
  try { selectRecord(local || (await getJson("/api/records/" + encodeURIComponent(id)))); } catch { announce("That reconcile is no longer kept."); }
}
let announceTimer;
function announce(text) { clearTimeout(announceTimer); announceTimer = setTimeout(() => { $("announce").textContent = text; }, 300); }
let parentsTimer;
function onRecord(record) {
  state.latestSeq = Math.max(state.latestSeq, record.seq);
  const p = state.selectedParent;
  if (!p || (p.operator === record.operator && p.key === record.key)) {
    state.records.push(record);
    if (state.records.length > 1000) state.records.splice(0, state.records.length - 1000);
    renderTimeline();
  }
  if (recordVisible(record)) announce("New reconcile of " + record.kind + " " + record.key + ": " + (outcomeText[record.outcome] || record.outcome));
  clearTimeout(parentsTimer);
  parentsTimer = setTimeout(() => loadParents().catch(() => {}), 150);
}
function connect() {
  const source = new EventSource("/api/events?since=" + state.latestSeq);
  source.addEventListener("open", () => { $("connection").dataset.state = "live"; $("connection").textContent = "live"; });
  source.addEventListener("error", () => { $("connection").dataset.state = "down"; $("connection").textContent = "reconnecting…"; });
  source.addEventListener("record", (event) => onRecord(JSON.parse(event.data)));
}
function bindFilters() {
  const form = $("filters");
  form.addEventListener("submit", (e) => e.preventDefault());
  form.addEventListener("input", () => {
    state.filters = { errors: $("errors").checked, churn: $("churn").checked, kind: $("kind").value, namespace: $("namespace").value, search: $("search").value };
    renderParents(); renderTimeline();
  });
  // Arrow keys move between the buttons of a list.
  for (const id of ["parents", "timeline"]) {
    $(id).addEventListener("keydown", (e) => {
      if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
      const buttons = [...$(id).querySelectorAll("button")];
      const at = buttons.indexOf(document.activeElement);
      const next = buttons[at + (e.key === "ArrowDown" ? 1 : -1)];
      if (next) { e.preventDefault(); next.focus(); }
    });
  }
}
async function start() {
  bindFilters();
  await loadParents();
  const hash = new URLSearchParams(location.hash.slice(1));
  const wanted = hash.get("parent");
  if (wanted) { const found = state.parents.find((p) => p.operator + "/" + p.key === wanted); if (found) state.selectedParent = found; }
  renderParents();
  await loadRecords();
  if (hash.get("record")) await openRecord(hash.get("record")); else renderRecord();
  connect();
}
start().catch((error) => { $("record").replaceChildren(h("div", { class: "error-box" }, "The trace could not be loaded: " + error.message)); });
`;

function sha256(text: string): string {
  return `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
}

/** The viewer page. */
export const viewerPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Operon trace</title>
<link rel="icon" href="data:,">
<style>${style}</style>
</head>
<body>
<header>
  <h1>Operon trace</h1>
  <span class="meta" id="size"></span>
  <span class="meta" id="connection" data-state="connecting" role="status">connecting…</span>
</header>
<form class="filters" id="filters" role="search" aria-label="Filters">
  <label><input type="checkbox" id="errors"> Errors only</label>
  <label><input type="checkbox" id="churn"> Not converging only</label>
  <label>Kind <select id="kind"><option value="">All kinds</option></select></label>
  <label>Namespace <select id="namespace"><option value="">All namespaces</option></select></label>
  <label>Search <input type="search" id="search" placeholder="name, kind, operator"></label>
</form>
<main>
  <nav aria-labelledby="parents-title"><h2 id="parents-title">Parents</h2><ul class="list" id="parents"></ul></nav>
  <section aria-labelledby="timeline-title"><h2 id="timeline-title">Latest reconciles</h2><ol class="list" id="timeline"></ol></section>
  <section aria-label="Record" id="record"></section>
</main>
<div class="sr-only" aria-live="polite" id="announce"></div>
<script>${script}</script>
</body>
</html>
`;

/** Allows the page's own style and script, and requests to its own origin; nothing else. */
export const viewerContentSecurityPolicy = [
  "default-src 'none'",
  `script-src ${sha256(script)}`,
  `style-src ${sha256(style)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");
