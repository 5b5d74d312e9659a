// The archive's web page: search, one repo's detail (files, lineage, family tree, trending history).
// Vanilla JS module, no build step, nothing from the network but this server's JSON API (web/api.py).
// The view lives in the URL hash, so views can be linked and the back button works:
//   #/search?q=bert&type=model&mirrored=true&size_gte=1000000&sort=likes&order=desc&page=2
//   #/repo/model/org/name

const TYPES = {
  model: { label: "Model", plural: "models", hub: "" },
  dataset: { label: "Dataset", plural: "datasets", hub: "datasets/" },
  space: { label: "Space", plural: "spaces", hub: "spaces/" },
};
// the form's choices: the API's values and their names (the first is the default)
const CHOICES = {
  type: [["", "All types"], ...Object.entries(TYPES).map(([value, t]) => [value, `${t.plural[0].toUpperCase()}${t.plural.slice(1)}`])],
  mirrored: [["", "Mirrored and catalog"], ["true", "Mirrored only"], ["false", "Catalog only"]],
  sort: [["relevance", "Relevance"], ["trending_score", "Trending score"], ["downloads", "Downloads"], ["likes", "Likes"], ["size", "Size"]],
  order: [["desc", "Descending"], ["asc", "Ascending"]],
};
const SEARCH_DEFAULTS = { q: "", type: "", mirrored: "", size_gte: "", size_lte: "", sort: "relevance", order: "desc", page: "1", limit: "10" };
const SVG_NS = "http://www.w3.org/2000/svg";

// -- sizes ----------------------------------------------------------------------------------
const UNITS = {
  b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, k: 1e3, m: 1e6, g: 1e9, t: 1e12,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};
const DISPLAY_UNITS = ["B", "KB", "MB", "GB", "TB"];
const EXACT_UNITS = ["TB", "GB", "MB", "KB", "TiB", "GiB", "MiB", "KiB"];

/** "1.5 GB" → 1500000000; "" → null; a bare number is bytes. Throws on anything else. */
export function parseSize(text) {
  const s = String(text ?? "").trim();
  if (!s) return null;
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)$/i.exec(s);
  const unit = m ? UNITS[(m[2] || "b").toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`“${s}” is not a size (try 500 MB or 2 GB)`);
  return Math.round(parseFloat(m[1]) * unit);
}

/** A readable size: 1234567 → "1.2 MB" (decimal units, as on the Hub). */
export function formatSize(bytes) {
  if (bytes === null || bytes === undefined || !Number.isFinite(Number(bytes))) return "—";
  let v = Number(bytes);
  let i = 0;
  while (v >= 1000 && i < DISPLAY_UNITS.length - 1) { v /= 1000; i += 1; }
  const digits = i === 0 || v >= 100 ? 0 : 1;
  return `${v.toFixed(digits)} ${DISPLAY_UNITS[i]}`;
}

/** A size that parses back to exactly `bytes` (for refilling the form from the URL). */
export function exactSize(bytes) {
  for (const unit of EXACT_UNITS) {
    const v = bytes / UNITS[unit.toLowerCase()];
    if (v >= 1 && Number.isInteger(v * 10) && parseSize(`${v} ${unit}`) === bytes) return `${v} ${unit}`;
  }
  return `${bytes} B`;
}

const number = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString("en-US"));
const score = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString("en-US", { maximumFractionDigits: 1 }));

// -- DOM helpers ----------------------------------------------------------------------------
const present = (c) => c !== null && c !== undefined && c !== false;

/** el("a", {href: "#", class: "x"}, "text", child…); attributes and children that are null/false are left out. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (!present(v)) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  node.append(...children.flat().filter(present));
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  node.append(...children);
  return node;
}

/** The API's snippet is HTML with <mark>s; keep only its text and the <mark>s, nothing else. */
function snippetNodes(html) {
  const template = document.createElement("template");
  template.innerHTML = html || "";
  const copy = (from, to) => {
    for (const child of from.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) to.append(child.textContent);
      else if (child.nodeType === Node.ELEMENT_NODE) {
        if (child.localName === "mark") copy(child, to.appendChild(document.createElement("mark")));
        else copy(child, to);
      }
    }
    return to;
  };
  return copy(template.content, document.createDocumentFragment());
}

function announce(text) {
  const region = document.getElementById("announce");
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 50);
}

/** Replace `parent`'s content with `children`, leaving out the null ones. */
function show(parent, ...children) {
  parent.replaceChildren(...children.flat().filter(present));
}

function setTitle(text) {
  document.title = text ? `${text} — Hugging Face archive` : "Hugging Face archive";
}

// -- URLs -----------------------------------------------------------------------------------
const encodeId = (id) => id.split("/").map(encodeURIComponent).join("/");
const repoHash = (type, id) => `#/repo/${encodeURIComponent(type)}/${encodeId(id)}`;
const hubUrl = (type, id) => `https://huggingface.co/${(TYPES[type] || TYPES.model).hub}${encodeId(id)}`;

function searchHash(params) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && String(v) !== "" && String(v) !== SEARCH_DEFAULTS[k]) query.set(k, v);
  }
  const s = query.toString();
  return s ? `#/search?${s}` : "#/search";
}

/** The view the hash names: {view: "search", params} or {view: "repo", type, id}. */
function parseHash(hash) {
  const raw = hash.replace(/^#/, "");
  const [path, query = ""] = raw.split("?", 2);
  const parts = path.split("/").filter(Boolean);
  if (parts[0] === "repo" && parts.length >= 3) {
    return { view: "repo", type: decodeURIComponent(parts[1]), id: parts.slice(2).map(decodeURIComponent).join("/") };
  }
  const given = Object.fromEntries(new URLSearchParams(query));
  const params = { ...SEARCH_DEFAULTS };
  for (const k of Object.keys(SEARCH_DEFAULTS)) if (given[k] !== undefined) params[k] = given[k];
  return { view: "search", params };
}

// -- the API --------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

function detailText(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => (d && d.msg ? `${(d.loc || []).slice(1).join(".") || "request"}: ${d.msg}` : JSON.stringify(d))).join("; ");
  }
  return detail === undefined ? "" : JSON.stringify(detail);
}

async function api(path) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: "application/json" } });
  } catch (err) {
    throw new ApiError(`The archive API could not be reached (${err.message}).`, 0);
  }
  let body = null;
  try { body = await response.json(); } catch { /* not JSON: reported below */ }
  if (!response.ok) {
    const why = body ? detailText(body.detail) : response.statusText;
    throw new ApiError(`The archive API answered ${response.status}${why ? `: ${why}` : ""}.`, response.status);
  }
  if (body === null) throw new ApiError("The archive API answered with something that is not JSON.", response.status);
  return body;
}

function errorBox(err) {
  return el("div", { class: "error", role: "alert" }, el("strong", {}, "Error. "), err.message || String(err));
}

function warningsBox(warnings) {
  if (!warnings || !warnings.length) return null;
  return el("div", { class: "warnings", role: "note", "aria-label": "Warnings" },
    el("strong", {}, warnings.length === 1 ? "Warning" : "Warnings"),
    el("ul", {}, warnings.map((w) => el("li", {}, String(w)))));
}

// -- pieces shared by the views -------------------------------------------------------------
async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try { await navigator.clipboard.writeText(text); return true; } catch { /* fall back below */ }
  }
  const area = el("textarea", { class: "visually-hidden", readonly: true, "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch { ok = false; }
  area.remove();
  return ok;
}

function cidLine(cid, name) {
  if (!cid) return el("span", { class: "cid cid-none" }, "not in IPFS yet");
  const button = el("button", { type: "button", class: "copy", "aria-label": `Copy root CID of ${name}`, "data-cid": cid }, "Copy");
  button.addEventListener("click", async () => {
    const ok = await copyText(cid);
    button.textContent = ok ? "Copied" : "Copy failed";
    announce(ok ? `Root CID of ${name} copied` : "Could not copy to the clipboard");
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  });
  return el("span", { class: "cid" }, el("code", {}, cid), button);
}

const badge = (type) => el("span", { class: `badge badge-${type}` }, (TYPES[type] || { label: type }).label);
const hubLink = (type, id) => el("a", { class: "hub", href: hubUrl(type, id), rel: "noopener noreferrer", target: "_blank" },
  "On the Hub", el("span", { class: "visually-hidden" }, `: ${id} (opens in a new tab)`), el("span", { "aria-hidden": "true" }, " ↗"));

function facts(pairs) {
  return el("dl", { class: "facts" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, v))));
}

// -- the search form ------------------------------------------------------------------------
const form = () => document.getElementById("search");

function fillForm(params) {
  const f = form();
  f.q.value = params.q;
  f.type.value = params.type;
  f.mirrored.value = CHOICES.mirrored.some(([v]) => v === params.mirrored) ? params.mirrored : "";
  f.sort.value = params.sort;
  f.order.value = params.order;
  for (const [name, key] of [["size_min", "size_gte"], ["size_max", "size_lte"]]) {
    const bytes = Number(params[key]);
    f[name].value = params[key] !== "" && Number.isFinite(bytes) ? exactSize(bytes) : "";
    f[name].removeAttribute("aria-invalid");
  }
}

function showFormError(message, field) {
  const box = document.getElementById("form-error");
  box.textContent = message || "";
  box.hidden = !message;
  if (field) { field.setAttribute("aria-invalid", "true"); field.focus(); }
}

function onSubmit(event) {
  event.preventDefault();
  const f = form();
  showFormError("");
  const sizes = {};
  for (const [name, key] of [["size_min", "size_gte"], ["size_max", "size_lte"]]) {
    f[name].removeAttribute("aria-invalid");
    try { sizes[key] = parseSize(f[name].value); } catch (err) { showFormError(err.message, f[name]); return; }
  }
  if (sizes.size_gte !== null && sizes.size_lte !== null && sizes.size_gte > sizes.size_lte) {
    showFormError("The minimum size is larger than the maximum size.", f.size_min);
    return;
  }
  const current = parseHash(location.hash);
  const limit = current.view === "search" ? current.params.limit : SEARCH_DEFAULTS.limit;
  const hash = searchHash({ q: f.q.value.trim(), type: f.type.value, mirrored: f.mirrored.value, ...sizes, sort: f.sort.value, order: f.order.value, limit });
  keepFocus = true;
  if (location.hash === hash) render(); else location.hash = hash;
}

// -- the search view ------------------------------------------------------------------------
function resultItem(hit) {
  const type = hit.entity_type;
  const trending = hit.trending_score === null || hit.trending_score === undefined
    ? null : `${score(hit.trending_score)}${hit.trending_rank ? ` (rank #${hit.trending_rank})` : ""}`;
  return el("li", { class: "result", "data-id": hit.id, "data-type": type },
    el("div", { class: "result-head" },
      badge(type),
      el("h3", {}, el("a", { href: repoHash(type, hit.id) }, hit.id)),
      hit.gated ? el("span", { class: "badge badge-gated" }, "Gated") : null,
      hit.mirrored === false ? catalogBadge() : null),
    hit.title && hit.title !== hit.id ? el("p", { class: "title" }, hit.title) : null,
    hit.snippet ? el("p", { class: "snippet" }, snippetNodes(hit.snippet)) : null,
    facts([
      ["Trending", trending],
      ["Size", formatSize(hit.size_bytes)],
      ["Downloads", number(hit.downloads)],
      ["Likes", number(hit.likes)],
      ["Task", hit.pipeline_tag],
      ["Library", hit.library_name],
    ]),
    el("div", { class: "result-foot" },
      hit.mirrored === false
        ? el("span", { class: "cid cid-none" }, "Not mirrored: metadata from a catalog walk")
        : [el("span", { class: "cid-label" }, "Root CID"), cidLine(hit.root_cid, hit.id)],
      hubLink(type, hit.id)));
}

/** A repo the archive knows from a catalog walk only: its metadata, not its contents. */
const catalogBadge = () => el("span", { class: "badge badge-catalog", title: "Known from a catalog walk of the Hub: metadata only, contents not mirrored" }, "Catalog only");

/** What the archive holds of a repo, in words. */
function statusText(e) {
  const when = (iso) => (iso ? iso.slice(0, 10) : "");
  const gone = e.gone_at ? `; gone from the Hub since ${when(e.gone_at)}${e.renamed_to ? `, renamed to ${e.renamed_to}` : ""}` : "";
  if (e.status === "done") return `Mirrored${gone}`;
  if (e.status === "listed") return `Catalog only: metadata from a Hub walk${e.listed_at ? ` (${when(e.listed_at)})` : ""}, not mirrored${gone}`;
  return `${e.status}${gone}`;
}

function pager(params, pagination) {
  const page = pagination.page;
  const pages = Math.max(1, pagination.pages);
  const link = (n, text, rel) => (n >= 1 && n <= pages
    ? el("a", { href: searchHash({ ...params, page: String(n) }), rel }, text)
    : el("span", { class: "disabled", "aria-disabled": "true" }, text));
  return el("nav", { class: "pager", "aria-label": "Result pages" },
    link(page - 1, "← Previous", "prev"), el("span", { class: "page-of" }, `Page ${page} of ${pages}`), link(page + 1, "Next →", "next"));
}

async function renderSearch(main, params, isCurrent) {
  fillForm(params);
  setTitle(params.q ? `“${params.q}”` : "Search");
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "") query.set(k, v);
  const heading = () => el("h2", { id: "results-heading", tabindex: "-1" }, "Results");
  show(main, heading(), el("p", { class: "loading" }, "Searching…"));
  let body;
  try {
    body = await api(`/api/search?${query}`);
  } catch (err) {
    if (isCurrent()) { show(main, heading(), errorBox(err)); announce("Search failed"); }
    return;
  }
  if (!isCurrent()) return;
  const { data = [], pagination = { total: data.length, page: 1, limit: data.length, pages: 1 } } = body;
  const first = (pagination.page - 1) * pagination.limit + 1;
  const what = params.q ? ` for “${params.q}”` : "";
  const summary = data.length
    ? `${number(pagination.total)} result${pagination.total === 1 ? "" : "s"}${what}; showing ${first}–${first + data.length - 1}.`
    : `No results${what}${pagination.total ? " on this page" : ""}.`;
  show(main,
    heading(),
    warningsBox(body.warnings),
    el("p", { class: "summary", id: "summary" }, summary),
    data.length
      ? el("ol", { class: "results", id: "results", "aria-labelledby": "results-heading", start: first }, data.map(resultItem))
      : el("p", { class: "empty", id: "no-results" }, "Nothing matched. Try other words, another type or a wider size range."),
    pagination.pages > 1 ? pager(params, pagination) : null);
  announce(summary);
}

// -- the repo view --------------------------------------------------------------------------
function nodeLink(key) {
  const i = key.indexOf(":");
  const [type, id] = i > 0 ? [key.slice(0, i), key.slice(i + 1)] : ["model", key];
  return el("a", { href: repoHash(type, id), class: "node" }, el("span", { class: "node-type" }, `${type} `), id);
}

const RELATION_WORDS = {
  finetune: "fine-tuned from", adapter: "an adapter of", quantized: "quantized from", merge: "merged from",
  unknown: "derived from", derived_from: "derived from", trained_on: "trained on", uses: "uses",
};

/** One lineage path ([[child, relation, parent], …]) as a chain: "child fine-tuned from parent …". */
function lineagePath(edges) {
  const chain = el("li", { class: "path" });
  let last = null;
  for (const [child, relation, parent] of edges) {
    if (child !== last) {
      if (last !== null) chain.append(el("span", { class: "gap" }, " · "));
      chain.append(nodeLink(child));
    }
    chain.append(el("span", { class: "rel" }, ` ${RELATION_WORDS[relation] || relation} `), nodeLink(parent));
    last = parent;
  }
  return chain;
}

function niceTicks(max) {
  if (max <= 6) return Array.from({ length: max }, (_, i) => i + 1);
  const rough = (max - 1) / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough);
  const ticks = [1];
  for (let t = step; t < max + step; t += step) if (t > 1) ticks.push(t); // the last tick is at or below the worst rank
  return ticks;
}

const shortDate = (iso) => (iso ? String(iso).slice(0, 10) : "");

/** The repo's trending rank across runs as an inline SVG line chart (rank 1 on top). */
function trendChart(history, name, width) {
  const points = [...history].sort((a, b) => String(a.captured_at).localeCompare(String(b.captured_at)) || a.run_id - b.run_id);
  // drawn at the width it is shown at (between 280 and 640), so its 12px text stays 12px
  const W = Math.round(Math.min(640, Math.max(280, width || 640))), H = 240, left = 48, right = 24, top = 20, bottom = 44;
  const maxRank = Math.max(...points.map((p) => p.rank), 1);
  const ticks = niceTicks(maxRank);
  const yMax = Math.max(maxRank, ticks[ticks.length - 1]);
  const x = (i) => (points.length === 1 ? (left + W - right) / 2 : left + (i * (W - left - right)) / (points.length - 1));
  const y = (rank) => (yMax === 1 ? top + (H - top - bottom) / 2 : top + ((rank - 1) * (H - top - bottom)) / (yMax - 1));
  const best = Math.min(...points.map((p) => p.rank));
  const description = `${points.length} run${points.length === 1 ? "" : "s"}; best rank #${best}, latest rank #${points[points.length - 1].rank}.`;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "trend-title trend-desc", id: "trend-chart", class: "chart" },
    svg("title", { id: "trend-title" }, `Trending rank of ${name} across runs`),
    svg("desc", { id: "trend-desc" }, description));
  for (const t of ticks) {
    chart.append(svg("line", { x1: left, x2: W - right, y1: y(t), y2: y(t), class: "grid" }),
      svg("text", { x: left - 8, y: y(t) + 4, class: "tick", "text-anchor": "end" }, `#${t}`));
  }
  // date labels ~90px apart; the first starts at its point and the last ends at its point, so neither is cut off
  const labelEvery = Math.ceil(points.length / Math.max(2, Math.floor((W - left - right) / 90)));
  points.forEach((p, i) => {
    const last = i === points.length - 1;
    if ((i % labelEvery === 0 && points.length - 1 - i >= labelEvery) || last) {
      const anchor = points.length === 1 ? "middle" : i === 0 ? "start" : last ? "end" : "middle";
      chart.append(svg("text", { x: x(i), y: H - bottom + 18, class: "tick", "text-anchor": anchor }, shortDate(p.captured_at) || `run ${p.run_id}`));
    }
  });
  chart.append(svg("text", { x: 12, y: top + (H - top - bottom) / 2, class: "axis", transform: `rotate(-90 12 ${top + (H - top - bottom) / 2})`, "text-anchor": "middle" }, "rank"));
  chart.append(svg("text", { x: (left + W - right) / 2, y: H - 6, class: "axis", "text-anchor": "middle" }, "run (capture date)"));
  if (points.length > 1) chart.append(svg("polyline", { points: points.map((p, i) => `${x(i)},${y(p.rank)}`).join(" "), class: "line" }));
  points.forEach((p, i) => chart.append(svg("circle", { cx: x(i), cy: y(p.rank), r: 5, class: "dot" },
    svg("title", {}, `Run ${p.run_id} (${shortDate(p.captured_at)}): rank #${p.rank}, score ${score(p.trending_score)}`))));
  return { chart, description };
}

function trendTable(points) {
  return el("details", { class: "trend-data" }, el("summary", {}, "The numbers"),
    el("div", { class: "scroll" }, el("table", {},
      el("thead", {}, el("tr", {}, ["Run", "Captured", "Rank", "Score"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, points.map((p) => el("tr", {}, el("td", {}, String(p.run_id)), el("td", {}, shortDate(p.captured_at)),
        el("td", {}, `#${p.rank}`), el("td", {}, score(p.trending_score))))))));
}

function filesTable(files) {
  if (!files.length) return el("p", { class: "empty" }, "No files are archived for this repo.");
  return el("div", { class: "scroll" }, el("table", { class: "files", id: "files" },
    el("caption", { class: "visually-hidden" }, "Archived files"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Path"), el("th", { scope: "col", class: "num" }, "Size"), el("th", { scope: "col" }, "CID"))),
    el("tbody", {}, files.map((f) => el("tr", {}, el("td", { class: "path" }, f.path), el("td", { class: "num" }, formatSize(f.size)),
      el("td", {}, f.cid ? el("code", {}, f.cid) : "—"))))));
}

function section(id, title, ...content) {
  return el("section", { class: "panel", "aria-labelledby": `${id}-heading`, id },
    el("h3", { id: `${id}-heading` }, title), ...content);
}

async function renderRepo(main, type, id, isCurrent) {
  setTitle(id);
  const back = el("a", { href: lastSearchHash, class: "back" }, "← Back to results");
  back.addEventListener("click", (event) => {
    if (cameFromSearch) { event.preventDefault(); history.back(); }
  });
  const heading = () => el("h2", { tabindex: "-1", id: "repo-heading" }, id);
  show(main, back, heading(), el("p", { class: "loading" }, "Loading…"));
  let body;
  try {
    body = await api(`/api/entities/${encodeURIComponent(type)}/${encodeId(id)}`);
  } catch (err) {
    if (isCurrent()) show(main, back, heading(),
      err.status === 404 ? el("div", { class: "error", role: "alert" }, `${id} (${type}) is not in this archive.`) : errorBox(err));
    return;
  }
  if (!isCurrent()) return;
  const e = body.entity;
  const files = body.files || [];
  const lineage = body.lineage || [];
  const trending = body.trending || [];
  const tree = el("img", { id: "family-tree", alt: `Family tree of ${id}: its base models, datasets and derivatives`,
    src: `/api/provenance/${encodeURIComponent(type)}/${encodeId(id)}?format=svg`, decoding: "async" });
  const treeError = el("p", { class: "empty", hidden: true }, "No family tree could be drawn for this repo.");
  const treeCaption = el("figcaption", {}, "Family tree. ", el("a", { href: tree.getAttribute("src"), target: "_blank", rel: "noopener" },
    "Open it full size", el("span", { class: "visually-hidden" }, " (opens in a new tab)")));
  tree.addEventListener("error", () => { tree.hidden = true; treeCaption.hidden = true; treeError.hidden = false; });
  let trend;
  if (trending.length) {
    const { chart, description } = trendChart(trending, id, main.clientWidth - 64);
    trend = [el("figure", { class: "chart-box" }, chart, el("figcaption", {}, `Rank 1 is the top. ${description}`)), trendTable(trending)];
  } else {
    trend = [el("p", { class: "empty" }, "This repo has not been in a trending snapshot.")];
  }
  show(main,
    back,
    el("div", { class: "repo-head" }, badge(e.entity_type || type), el("h2", { tabindex: "-1", id: "repo-heading" }, e.id || id),
      e.mirrored === false ? catalogBadge() : null, hubLink(type, id)),
    section("summary-panel", "Summary",
      facts([
        ["Status", statusText(e)],
        ["Root CID", cidLine(e.root_cid, id)],
        ["Size", formatSize(e.size_bytes)],
        ["Files", number(e.file_count ?? files.length)],
        ["License", e.license],
        ["Downloads", number(e.downloads)],
        ["Likes", number(e.likes)],
        ["Trending score", e.trending_score === null || e.trending_score === undefined ? null : score(e.trending_score)],
        ["Task", e.pipeline_tag],
        ["Library", e.library_name],
        ["SDK", e.sdk],
      ]),
      e.tags && e.tags.length ? el("ul", { class: "tags", "aria-label": "Tags" }, e.tags.map((t) => el("li", {}, t))) : null),
    section("trending", "Trending history", ...trend),
    section("lineage", "Lineage",
      lineage.length
        ? el("ol", { class: "lineage" }, lineage.map(lineagePath))
        : el("p", { class: "empty" }, "No known base models or datasets."),
      el("p", {}, `${number(body.descendants ?? 0)} known derivative${body.descendants === 1 ? "" : "s"} in the archive.`),
      el("figure", { class: "tree" }, el("div", { class: "scroll" }, tree), treeError, treeCaption)),
    section("files-panel", `Files (${number(files.length)})`, filesTable(files)));
  announce(`${id} loaded`);
}

// -- health ---------------------------------------------------------------------------------
async function renderHealth() {
  const box = document.getElementById("health");
  try {
    const body = await api("/api/health");
    const counts = Object.entries(body.entities || {}).map(([type, c]) => {
      const n = (c && c.done) || 0;
      const t = TYPES[type];
      return `${number(n)} ${t ? (n === 1 ? t.label.toLowerCase() : t.plural) : type}`;
    });
    const listed = Object.values(body.entities || {}).reduce((sum, c) => sum + ((c && c.listed) || 0), 0);
    const catalog = listed ? `; catalog only: ${number(listed)} more repos known from Hub walks` : "";
    box.textContent = counts.length ? `Archived: ${counts.join(", ")}${catalog}` : "The archive is empty.";
    box.classList.remove("error");
  } catch (err) {
    box.textContent = err.message;
    box.classList.add("error");
  }
}

// -- routing --------------------------------------------------------------------------------
let renderToken = 0;
let keepFocus = false; // the form asked for this view: leave the focus where it is
let lastSearchHash = "#/search";
let cameFromSearch = false;
let previousView = null;

async function render() {
  const token = ++renderToken;
  const isCurrent = () => token === renderToken;
  const route = parseHash(location.hash);
  const main = document.getElementById("main");
  const focusAfter = !keepFocus && previousView !== null;
  keepFocus = false;
  if (route.view === "repo") {
    cameFromSearch = previousView === "search";
    previousView = "repo";
    const done = renderRepo(main, route.type, route.id, isCurrent);
    if (focusAfter) document.getElementById("repo-heading")?.focus();
    await done;
    if (focusAfter && isCurrent()) document.getElementById("repo-heading")?.focus();
  } else {
    lastSearchHash = location.hash || "#/search";
    previousView = "search";
    await renderSearch(main, route.params, isCurrent);
    if (focusAfter && isCurrent()) document.getElementById("results-heading")?.focus();
  }
}

function start() {
  for (const [name, options] of Object.entries(CHOICES)) {
    form()[name].replaceChildren(...options.map(([value, text]) => el("option", { value }, text)));
  }
  form().addEventListener("submit", onSubmit);
  window.addEventListener("hashchange", () => render());
  renderHealth();
  render();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
