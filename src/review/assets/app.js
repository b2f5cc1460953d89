// tribunal review: the page. Every text that comes from a run, a case or a
// label is put in the page with textContent (through `el`), never as HTML.
"use strict";

const CSRF = document.querySelector('meta[name="csrf"]').content;
const S = {
  state: null,
  trials: [],
  shown: [],
  current: null,
  annotator: null,
  runReplaced: false,
  labelSums: {},
  alignBefore: null,
  alignLast: null,
  busy: false,
  // What the expert typed and has not saved yet, per trial: kept across
  // re-renders (a label file re-read, a replaced run).
  drafts: {},
};

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return e;
}

function $(id) { return document.getElementById(id); }

function banner(text, error) {
  const b = $("banner");
  if (!text) { b.hidden = true; b.textContent = ""; return; }
  b.hidden = false;
  b.className = error ? "error" : "";
  b.textContent = text;
}

async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (method !== "GET") {
    opts.headers["X-Tribunal-CSRF"] = CSRF;
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body || {});
  }
  const resp = await fetch(path, opts);
  let data = null;
  try { data = await resp.json(); } catch (_) { data = { error: "the server sent no JSON (" + resp.status + ")" }; }
  if (!resp.ok) throw new Error(data && data.error ? data.error : "HTTP " + resp.status);
  return data;
}

function pct(x) { return x === null || x === undefined ? "n/a" : (x * 100).toFixed(1) + "%"; }
function num(x) { return x === null || x === undefined ? "n/a" : x.toFixed(3); }

// ---- state ---------------------------------------------------------------

async function load() {
  const st = await api("GET", "/api/state");
  S.state = st;
  S.trials = st.trials;
  S.labelSums = Object.fromEntries(Object.entries(st.label_files).map(([k, v]) => [k, v.sha256]));
  S.annotator = st.annotator || localStorage.getItem("tribunal-annotator");
  const problems = [];
  if (st.run_error) problems.push(st.run_error);
  for (const e of st.suite_errors) problems.push(e);
  for (const [suite, f] of Object.entries(st.label_files)) if (f.error) problems.push(suite + ": " + f.error);
  banner(problems.join("\n"), problems.length > 0);
  $("run").textContent = st.run_id ? "run " + st.run_id : "no run";
  fillFilters();
  renderWho();
  renderQueue();
}

function renderWho() {
  const who = $("who");
  who.textContent = S.annotator ? "labelling as " + S.annotator : "";
  $("ask-name").hidden = !!S.annotator;
}

function progress() {
  const labelled = S.trials.filter((t) => t.label).length;
  $("progress").textContent = labelled + " of " + S.trials.length + " labelled";
}

function fillFilters() {
  const suites = [...new Set(S.trials.map((t) => t.suite))].sort();
  const tags = [...new Set(S.trials.flatMap((t) => t.tags))].sort();
  for (const [id, values] of [["f-suite", suites], ["f-tag", tags]]) {
    const sel = $(id);
    const keep = sel.value;
    while (sel.options.length > 1) sel.remove(1);
    for (const v of values) sel.appendChild(el("option", { value: v }, v));
    sel.value = values.includes(keep) ? keep : "";
  }
}

function judgeOutcome(t) {
  if (!t.judges || t.judges.length === 0) return null;
  return t.judges.every((j) => j.outcome === "pass") ? "pass" : "fail";
}

function matches(t) {
  const suite = $("f-suite").value, tag = $("f-tag").value, status = $("f-status").value, judge = $("f-judge").value;
  if (suite && t.suite !== suite) return false;
  if (tag && !t.tags.includes(tag)) return false;
  if (status === "unlabelled" && t.label) return false;
  if (status === "failing" && !(t.outcome === "fail" || t.outcome === "error")) return false;
  if (status === "disagreement" && !t.disagrees) return false;
  if (status === "stale" && !(t.label && t.label.stale)) return false;
  if (judge && judgeOutcome(t) !== judge) return false;
  return true;
}

function badges(t) {
  const out = [];
  if (t.label) out.push(el("span", { class: "badge " + t.label.verdict }, t.label.verdict));
  else out.push(el("span", { class: "badge" }, "unlabelled"));
  if (t.label && t.label.stale) out.push(el("span", { class: "badge stale" }, "stale"));
  if (t.disagrees) out.push(el("span", { class: "badge fail" }, "judge disagrees"));
  return out;
}

function renderQueue() {
  progress();
  S.shown = S.trials.filter(matches);
  $("count").textContent = S.shown.length + " shown";
  const ol = $("queue");
  ol.replaceChildren();
  const frag = document.createDocumentFragment();
  for (const t of S.shown) {
    frag.appendChild(el("li", { "data-id": t.id, class: S.current === t.id ? "current" : null, onclick: () => select(t.id) },
      el("span", { class: "name", title: t.id }, t.id), badges(t)));
  }
  ol.appendChild(frag);
  if (!S.current || !S.trials.some((t) => t.id === S.current)) {
    if (S.shown.length) select(S.shown[0].id); else renderTrial(null);
  } else {
    renderTrial(S.trials.find((t) => t.id === S.current));
  }
}

function select(id) {
  S.current = id;
  for (const li of $("queue").children) li.classList.toggle("current", li.dataset.id === id);
  const li = [...$("queue").children].find((l) => l.dataset.id === id);
  if (li) li.scrollIntoView({ block: "nearest" });
  renderTrial(S.trials.find((t) => t.id === id));
}

function move(step) {
  if (!S.shown.length) return;
  let i = S.shown.findIndex((t) => t.id === S.current);
  i = Math.max(0, Math.min(S.shown.length - 1, i + step));
  select(S.shown[i].id);
}

// ---- trial view ----------------------------------------------------------

function pretty(output) {
  if (output.json !== undefined && output.json !== null) return JSON.stringify(output.json, null, 2);
  const t = output.text;
  const s = t.trim();
  if ((s.startsWith("{") && s.endsWith("}")) || (s.startsWith("[") && s.endsWith("]"))) {
    try { return JSON.stringify(JSON.parse(s), null, 2); } catch (_) { /* not JSON: shown as written */ }
  }
  return t;
}

function section(title, ...body) { return [el("h3", {}, title), ...body]; }

function toolCall(c) { return (c.name || "?") + "(" + JSON.stringify(c.arguments) + ")"; }

function renderTrial(t) {
  const art = $("trial");
  art.replaceChildren();
  if (!t) { art.appendChild(el("p", { class: "empty" }, "No trial matches the filters.")); return; }
  art.appendChild(el("h2", { id: "trial-id" }, t.id));
  const meta = [el("span", { class: "badge " + t.outcome }, "run: " + t.outcome), ...t.tags.map((g) => el("span", { class: "badge" }, g))];
  art.appendChild(el("p", {}, meta));
  if (t.description) art.appendChild(el("p", { class: "hint" }, t.description));
  art.append(...section("Input", el("pre", { id: "input" }, t.input || "(no input)")));
  if (t.output) {
    art.append(...section("Output", el("pre", { id: "output" }, pretty(t.output))));
    if (t.output.tool_calls && t.output.tool_calls.length) {
      art.append(...section("Tool calls", el("ol", { id: "tool-calls" }, t.output.tool_calls.map((c) => el("li", {}, el("code", {}, toolCall(c)))))));
    }
    if (t.output.conversation && t.output.conversation.length) {
      art.append(...section("Conversation", el("div", { id: "conversation" }, t.output.conversation.map((m) =>
        el("div", { class: "turn" }, el("span", { class: "role" }, "[" + m.role + (m.name ? " " + m.name : "") + "] "),
          m.content || "", (m.tool_calls || []).map((c) => el("code", {}, " → " + toolCall(c))))))));
    }
    if (t.output.steps && t.output.steps.length) {
      art.append(...section("Steps", el("ol", {}, t.output.steps.map((s) => el("li", {}, el("strong", {}, s.name + ": "), el("pre", {}, pretty(s.output)))))));
    }
  } else {
    art.append(...section("Output", el("pre", { id: "output" }, "(no output: " + (t.error || "the target failed") + ")")));
  }
  if (t.expected !== undefined && t.expected !== null) art.append(...section("Reference", el("pre", { id: "reference" }, t.expected)));
  const evidence = t.checks.filter((c) => c.outcome !== "pass" || c.evidence);
  if (evidence.length) {
    art.append(...section("Checks", el("div", { id: "checks" }, evidence.map((c) => el("div", {},
      el("p", {}, el("span", { class: "badge " + c.outcome }, c.outcome), " ", el("strong", {}, c.check), " — ", c.reason),
      c.evidence ? el("pre", { class: "evidence" }, JSON.stringify(c.evidence, null, 2)) : null)))));
  }
  art.appendChild(controls(t));
  if (t.label) art.appendChild(reveal(t));
}

function controls(t) {
  const l = t.label;
  const disabled = S.runReplaced || !t.output;
  const draft = S.drafts[t.id];
  const keep = (field) => () => {
    const d = S.drafts[t.id] || { critique: $("critique").value, modes: $("modes").value };
    d[field] = $(field).value;
    S.drafts[t.id] = d;
  };
  return el("div", { class: "controls" },
    el("div", { class: "buttons" },
      el("button", { id: "btn-pass", type: "button", class: l && l.verdict === "pass" ? "chosen" : null, disabled, onclick: () => label("pass") }, "Pass (p)"),
      el("button", { id: "btn-fail", type: "button", class: l && l.verdict === "fail" ? "chosen" : null, disabled, onclick: () => label("fail") }, "Fail (f)"),
      el("button", { id: "btn-undo", type: "button", onclick: () => undo() }, "Undo (u)")),
    el("label", { for: "critique" }, "Critique: why it passes or fails, detailed enough for a new colleague (c)"),
    (() => { const ta = el("textarea", { id: "critique", oninput: keep("critique") }); ta.value = draft ? draft.critique : l ? l.critique : ""; return ta; })(),
    el("label", { for: "modes" }, "Failure modes (comma-separated tags, optional)"),
    (() => { const i = el("input", { id: "modes", oninput: keep("modes") }); i.value = draft ? draft.modes : l ? l.tags.join(", ") : ""; return i; })());
}

function reveal(t) {
  const l = t.label;
  const mine = el("div", { id: "expert-side" }, el("h4", {}, "Your label"),
    el("p", {}, el("span", { class: "badge " + l.verdict }, l.verdict), l.stale ? el("span", { class: "badge stale" }, "stale: the output changed since " + l.date) : null,
      " by " + l.labeller + " on " + l.date),
    el("pre", {}, l.critique || "(no critique)"),
    l.tags.length ? el("p", {}, "modes: " + l.tags.join(", ")) : null);
  let judge;
  if (!t.has_judges) judge = el("div", { id: "judge-side" }, el("h4", {}, "Judge"), el("p", { class: "empty" }, "This case has no judge check."));
  else judge = el("div", { id: "judge-side" }, el("h4", {}, "Judge"), (t.judges || []).map((j) => el("div", {},
    el("p", {}, el("span", { class: "badge " + j.outcome }, j.outcome), " ", el("strong", {}, j.check)), el("pre", {}, j.critique))));
  return el("div", { class: "side" }, mine, judge);
}

function replaceTrial(t) {
  const i = S.trials.findIndex((x) => x.id === t.id);
  if (i >= 0) S.trials[i] = t;
  const li = [...$("queue").children].find((x) => x.dataset.id === t.id);
  if (li) li.replaceChildren(el("span", { class: "name", title: t.id }, t.id), badges(t));
  progress();
  if (S.current === t.id) renderTrial(t);
}

function noteSums(files) {
  for (const [k, v] of Object.entries(files || {})) S.labelSums[k] = v.sha256;
}

async function label(verdict) {
  const t = S.trials.find((x) => x.id === S.current);
  if (!t || S.busy) return;
  if (!S.annotator) { banner("Enter your name first: it is recorded with every label.", true); $("annotator-name").focus(); return; }
  const critique = $("critique").value;
  const tags = $("modes").value.split(",").map((s) => s.trim()).filter((s) => s);
  S.busy = true;
  try {
    const r = await api("POST", "/api/label", { trial: t.id, verdict, critique, tags, annotator: S.annotator, run_id: S.state.run_id });
    noteSums(r.label_files);
    delete S.drafts[t.id];
    if (r.trial) replaceTrial(r.trial);
    banner(r.notice || "", false);
  } catch (e) {
    banner("Not saved: " + e.message + (critique ? "\n(your critique is still in the box)" : ""), true);
  } finally { S.busy = false; }
}

async function undo() {
  if (S.busy) return;
  S.busy = true;
  try {
    const r = await api("POST", "/api/undo", {});
    noteSums(r.label_files);
    if (r.trial) { delete S.drafts[r.trial.id]; replaceTrial(r.trial); select(r.trial.id); }
    banner("Undone: " + r.undone, false);
  } catch (e) { banner("Undo: " + e.message, true); } finally { S.busy = false; }
}

// ---- agreement -----------------------------------------------------------

function statsRow(name, c) {
  return el("tr", {}, el("td", {}, name), el("td", { class: "num" }, c.n), el("td", { class: "num" }, pct(c.accuracy)),
    el("td", { class: "num" }, num(c.kappa)), el("td", { class: "num" }, pct(c.tpr)), el("td", { class: "num" }, pct(c.tnr)));
}

function statsTable(id, rows) {
  return el("table", { id }, el("tr", {}, ["", "n", "agreement", "kappa", "TPR", "TNR"].map((h) => el("th", {}, h))), rows);
}

function renderReport(r, before) {
  const o = r.overall;
  const parts = [el("h2", {}, "Suite " + r.suite)];
  parts.push(el("p", {}, r.judged + " labelled outputs judged (" + r.undecided + " undecided by the judge)"));
  if (before) {
    parts.push(el("p", { class: "before-after" }, "agreement before " + pct(before.overall.accuracy) + " → after " + pct(o.accuracy) +
      "; kappa " + num(before.overall.kappa) + " → " + num(o.kappa)));
  }
  parts.push(statsTable("overall-" + r.suite, [statsRow("all judges", o)]));
  parts.push(el("table", { class: "confusion" },
    el("tr", {}, el("th", {}, "human \\ judge"), el("th", {}, "judge pass"), el("th", {}, "judge fail")),
    el("tr", {}, el("th", {}, "human pass"), el("td", { class: "num" }, o.tp), el("td", { class: "num" }, o.fn)),
    el("tr", {}, el("th", {}, "human fail"), el("td", { class: "num" }, o.fp), el("td", { class: "num" }, o.tn))));
  if (r.gate) {
    parts.push(el("p", { class: r.gate.holds ? "gate-ok" : "gate-failed" },
      "min_agreement gate: agreement " + pct(r.gate.agreement) + (r.gate.holds ? " ≥ " : " < ") + pct(r.gate.min_agreement) + ": " + (r.gate.holds ? "ok" : "FAILED")));
  } else parts.push(el("p", { class: "hint" }, "No min_agreement gate for this suite."));
  const per = (title, m) => Object.keys(m).length ? [el("h3", {}, "Per " + title), statsTable("per-" + title + "-" + r.suite, Object.entries(m).map(([k, c]) => statsRow(k, c)))] : [];
  parts.push(...per("judge", r.per_check), ...per("tag", r.per_tag));
  if (r.disagreements.length) {
    parts.push(el("h3", {}, "Disagreements (" + r.disagreements.length + ")"));
    parts.push(el("p", { class: "hint" }, "Pick disagreements as few-shot examples: judges with few_shot: N show picked labels first. Then run the alignment again to compare."));
    parts.push(el("table", { class: "disagreements" }, el("tr", {}, ["trial", "judge check", "expert", "judge", "expert critique", "judge critique", "few-shot example"].map((h) => el("th", {}, h))),
      r.disagreements.map((i) => {
        const id = r.suite + "::" + i.case + (i.variant ? "::" + i.variant : "");
        const t = S.trials.find((x) => x.id === id);
        const box = el("input", { type: "checkbox", class: "pick", "data-id": id, disabled: !t || !t.label });
        box.checked = !!(t && t.label && t.label.few_shot);
        box.onchange = () => pick(id, box.checked, box);
        return el("tr", {}, el("td", {}, id), el("td", {}, i.check),
          el("td", {}, i.human), el("td", {}, i.judge), el("td", {}, i.human_critique), el("td", {}, i.judge_critique), el("td", {}, box));
      })));
  }
  if (r.stale.length) parts.push(el("p", {}, "Stale labels (not used): " + r.stale.join(", ")));
  if (r.invalid.length) parts.push(el("p", { class: "gate-failed" }, "Invalid labels: " + r.invalid.join("; ")));
  parts.push(el("details", {}, el("summary", {}, "As tribunal align prints it"), el("pre", { class: "align-text" }, r.text)));
  return el("div", { class: "report" }, parts);
}

async function pick(id, on, box) {
  try {
    const r = await api("POST", "/api/few-shot", { trial: id, few_shot: on });
    noteSums(r.label_files);
    if (r.trial) replaceTrial(r.trial);
    banner((on ? "Picked " : "Unpicked ") + id + " as a few-shot example; run the alignment again to see the effect.", false);
  } catch (e) { box.checked = !on; banner("Not saved: " + e.message, true); }
}

function renderAnnotators(a) {
  const parts = [el("h2", {}, "Annotators of " + a.suite), el("p", { class: "hint" }, "Label files: " + a.files.join(", "))];
  for (const e of a.errors) parts.push(el("p", { class: "gate-failed" }, e));
  parts.push(el("table", { id: "annotators-" + a.suite }, el("tr", {}, ["pair", "shared outputs", "agreement", "kappa"].map((h) => el("th", {}, h))),
    a.pairs.map((p) => el("tr", {}, el("td", {}, p.a + " × " + p.b), el("td", { class: "num" }, p.n), el("td", { class: "num" }, pct(p.agreement)), el("td", { class: "num" }, num(p.kappa))))));
  for (const p of a.pairs) {
    if (!p.disagreements.length) continue;
    parts.push(el("h3", {}, p.a + " and " + p.b + " disagree on " + p.disagreements.length));
    parts.push(el("table", {}, el("tr", {}, ["trial", p.a, p.b].map((h) => el("th", {}, h))),
      p.disagreements.map((d) => el("tr", {}, el("td", {}, d.trial), el("td", {}, d.a[0] + ": " + d.a[1]), el("td", {}, d.b[0] + ": " + d.b[1])))));
  }
  return el("div", { class: "report" }, parts);
}

async function runAlign() {
  const out = $("agreement");
  out.replaceChildren(el("p", { class: "hint" }, "Running the judges…"));
  try {
    const r = await api("POST", "/api/align", {});
    S.alignBefore = S.alignLast;
    S.alignLast = r.reports;
    const before = Object.fromEntries((S.alignBefore || []).map((x) => [x.suite, x]));
    out.replaceChildren(...(r.reports.length ? r.reports.map((x) => renderReport(x, before[x.suite])) : [el("p", { class: "empty" }, "No labels yet: label some trials in the queue first.")]),
      ...r.annotators.map(renderAnnotators));
  } catch (e) { out.replaceChildren(el("p", { class: "gate-failed" }, "Alignment failed: " + e.message)); }
}

// ---- error analysis ------------------------------------------------------

async function loadAnalysis() {
  const rows = $("a-rows").value, cols = $("a-cols").value;
  const q = new URLSearchParams();
  if (rows) q.set("rows", rows);
  if (cols) q.set("cols", cols);
  $("export-md").href = "/api/export.md?" + q;
  $("export-csv").href = "/api/export.csv?" + q;
  const a = await api("GET", "/api/analysis?" + q);
  for (const [id, v] of [["a-rows", a.rows], ["a-cols", a.cols]]) {
    const sel = $(id);
    sel.replaceChildren(...a.dimensions.map((d) => el("option", { value: d }, d)));
    if (v) sel.value = v;
  }
  const out = $("analysis");
  const parts = [];
  if (a.rows && a.cols) {
    parts.push(el("h3", {}, "Failures by " + a.rows + " × " + a.cols));
    parts.push(el("table", { id: "cross" }, el("tr", {}, el("th", {}, a.rows + " \\ " + a.cols), a.col_values.map((v) => el("th", {}, v))),
      a.row_values.map((rv, i) => el("tr", {}, el("th", {}, rv), a.cells[i].map((c) => el("td", { class: "num" }, c.total ? c.failed + "/" + c.total : "–"))))));
  } else parts.push(el("p", { class: "hint" }, "Tag cases as dimension:value (feature:returns, persona:new-user) to cross failures by two dimensions."));
  parts.push(el("h3", {}, "Failure modes"));
  if (a.modes.length) {
    parts.push(el("table", { id: "modes-table" }, el("tr", {}, ["mode", "count", "share", "example critiques"].map((h) => el("th", {}, h))),
      a.modes.map((m) => el("tr", {}, el("td", {}, m.mode), el("td", { class: "num" }, m.count), el("td", { class: "num" }, pct(m.share)),
        el("td", {}, el("ul", {}, m.examples.map((x) => el("li", {}, x))))))));
  } else parts.push(el("p", { class: "empty" }, "No failure modes yet: add tags to failing labels."));
  parts.push(el("h3", {}, "Failures (" + a.failures.length + ")"));
  parts.push(el("table", { id: "failures" }, el("tr", {}, ["trial", "by", "modes", "critique"].map((h) => el("th", {}, h))),
    a.failures.map((f) => el("tr", {}, el("td", {}, f.id), el("td", {}, f.by), el("td", {}, f.modes.join(", ")), el("td", {}, f.critique)))));
  out.replaceChildren(...parts);
}

// ---- tabs, keys, polling -------------------------------------------------

function tab(name) {
  for (const n of ["queue", "agreement", "analysis"]) {
    $("view-" + n).hidden = n !== name;
    $("tab-" + n).classList.toggle("active", n === name);
  }
  if (name === "analysis") loadAnalysis().catch((e) => banner(e.message, true));
}

function typing(e) {
  const t = e.target;
  return t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT" || t.tagName === "SELECT");
}

document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && typing(e)) { e.target.blur(); return; }
  if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
  if ($("view-queue").hidden) return;
  const actions = { p: () => label("pass"), f: () => label("fail"), j: () => move(1), k: () => move(-1), u: () => undo(), c: () => $("critique") && $("critique").focus() };
  const a = actions[e.key];
  if (a) { e.preventDefault(); a(); }
});

async function poll() {
  try {
    const p = await api("GET", "/api/poll");
    if (p.run_id !== S.state.run_id) {
      if (!S.runReplaced) {
        S.runReplaced = true;
        banner("The run was replaced while this page was open (it shows run " + S.state.run_id + ", the results now hold " + (p.run_id || "nothing readable") +
          "). Labels are not saved against the old outputs: reload the page to review the new run.", true);
        renderQueue();
      }
      return;
    }
    const changed = Object.entries(p.labels).some(([k, v]) => S.labelSums[k] !== undefined && S.labelSums[k] !== v);
    if (changed) {
      await load();
      banner("A label file changed on disk (another review server, tribunal label or an editor): the labels were re-read.", false);
    }
  } catch (_) { /* the server is gone or busy: try again later */ }
}

$("tab-queue").onclick = () => tab("queue");
$("tab-agreement").onclick = () => tab("agreement");
$("tab-analysis").onclick = () => tab("analysis");
$("run-align").onclick = runAlign;
$("a-rows").onchange = () => loadAnalysis();
$("a-cols").onchange = () => loadAnalysis();
for (const id of ["f-suite", "f-tag", "f-status", "f-judge"]) $(id).onchange = renderQueue;
$("ask-name").onsubmit = (e) => {
  e.preventDefault();
  const name = $("annotator-name").value.trim();
  if (!name) return;
  S.annotator = name;
  localStorage.setItem("tribunal-annotator", name);
  renderWho();
};

load().then(() => setInterval(poll, 2000)).catch((e) => banner("Cannot load: " + e.message, true));
