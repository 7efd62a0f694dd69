// A server's dashboard. The page carries both layouts (desktop and phone)
// as JSON; this draws the one that fits the screen on a gridstack grid,
// each chart with uPlot from /api/v1/hosts/{id}/series for the range the
// toolbar (or a drag across a chart) picks. The range lives in the URL, so
// a reload, a link or switching server keeps it. Edit mode moves, resizes,
// adds, removes and configures boxes, and saves the layout of this screen.
// Everything from the server is put in with textContent, never as HTML.
"use strict";

(() => {
  const root = document.querySelector("[data-dashboard]");
  const gridEl = root && root.querySelector("[data-grid]");
  if (!gridEl || typeof uPlot === "undefined" || typeof GridStack === "undefined") return;
  const page = JSON.parse(root.dataset.dashboard);
  const host = encodeURIComponent(page.host);
  const SPANS = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3, "30d": 30 * 86400e3, "1y": 365 * 86400e3 };
  const PALETTE = ["#2456c7", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0e7490", "#a16207", "#be185d"];
  const MAX_SERIES = 12;
  const phone = window.matchMedia("(max-width: 700px)");
  const device = phone.matches ? "mobile" : "desktop";
  const columns = device === "mobile" ? 2 : 12;
  let boxes = []; // {item, content, panel, plot}
  let editing = false;

  // {range: "1h"} follows now; {from, to} is a fixed window (ms).
  function viewFromUrl() {
    const q = new URLSearchParams(location.search);
    const from = Number(q.get("from"));
    const to = Number(q.get("to"));
    if (from > 0 && to > from) return { from, to };
    return { range: SPANS[q.get("range")] ? q.get("range") : "1h" };
  }
  let view = viewFromUrl();

  function span() {
    if (view.range) {
      const to = Date.now();
      return { from: to - SPANS[view.range], to };
    }
    return { from: view.from, to: view.to };
  }

  function setView(next) {
    view = next;
    const q = new URLSearchParams();
    if (view.range) q.set("range", view.range);
    else { q.set("from", Math.round(view.from)); q.set("to", Math.round(view.to)); }
    history.replaceState(null, "", "?" + q.toString());
    drawAll();
  }

  function unitOf(name) {
    const base = name.split("{")[0];
    if (base.endsWith("_bytes_per_sec")) return "B/s";
    if (base.endsWith("_pct")) return "%";
    if (base.endsWith("_bytes")) return "B";
    if (base.endsWith("_celsius")) return "°C";
    if (base.endsWith("_seconds") || base.endsWith("_secs")) return "s";
    return "";
  }

  function fmt(v, unit) {
    if (v == null) return "—";
    if (unit === "B" || unit === "B/s") {
      const per = unit.slice(1);
      let x = v;
      for (const p of ["", "Ki", "Mi", "Gi", "Ti", "Pi"]) {
        if (Math.abs(x) < 1024 || p === "Pi") return `${+x.toFixed(1)} ${p}B${per}`;
        x /= 1024;
      }
    }
    const n = Math.abs(v) >= 100 ? Math.round(v) : +v.toFixed(2);
    return unit ? `${n} ${unit}` : String(n);
  }

  // `fs_used_pct{mount="/"}` reads as `fs_used_pct /`.
  function label(name) {
    const m = name.match(/\{(.*)\}$/);
    return m ? `${name.split("{")[0]} ${m[1].replace(/^[a-z]+="(.*)"$/, "$1")}` : name;
  }

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch { return ""; }
  }

  function shown() {
    const w = span();
    const out = root.querySelector("[data-shown]");
    const f = (t) => new Date(t).toLocaleString();
    if (out) out.textContent = `${f(w.from)} – ${f(w.to)}`;
    for (const b of root.querySelectorAll("[data-range]")) {
      b.setAttribute("aria-pressed", String(view.range === b.dataset.range));
    }
  }

  function plotSize(plot) {
    return { width: Math.max(100, plot.clientWidth), height: Math.max(60, plot.clientHeight - 30) };
  }

  async function draw(box) {
    const { panel, content } = box;
    const plot = content.querySelector(".plot");
    const w = span();
    // Tests and styles can tell a chart still fetching from one drawn.
    content.dataset.loading = "1";
    const q = new URLSearchParams();
    for (const n of panel.variables) q.append("name", n);
    q.set("from", Math.round(w.from));
    q.set("to", Math.round(w.to));
    q.set("points", Math.max(50, Math.min(1000, Math.round(plot.clientWidth / 2))));
    let answer;
    try {
      const res = await fetch(`/api/v1/hosts/${host}/series?${q}`, { headers: { Accept: "application/json" } });
      if (!res.ok) throw new Error(`${res.status}`);
      answer = await res.json();
    } catch (e) {
      content.dataset.points = "0";
      delete content.dataset.loading;
      plot.textContent = `Could not load the series (${e.message}).`;
      return;
    }
    if (!plot.isConnected) return;
    // One x axis: every timestamp of every series, each series aligned on it.
    const times = [...new Set(answer.series.flatMap((s) => s.points.map((p) => p.at_ms)))].sort((a, b) => a - b);
    const index = new Map(times.map((t, i) => [t, i]));
    const byName = new Map(answer.series.map((s) => [s.name, s]));
    const data = [times];
    let count = 0;
    for (const n of panel.variables) {
      const ys = new Array(times.length).fill(null);
      for (const p of (byName.get(n) || { points: [] }).points) { ys[index.get(p.at_ms)] = p.avg; count++; }
      data.push(ys);
    }
    content.dataset.points = String(count);
    const unit = unitOf(panel.variables[0] || "");
    const opts = {
      ms: 1,
      ...plotSize(plot),
      scales: {
        x: { time: true, min: w.from, max: w.to, auto: false },
        y: { range: (u, lo, hi) => [panel.y_min ?? Math.min(0, lo ?? 0), panel.y_max ?? (hi > (lo ?? 0) ? hi : (lo ?? 0) + 1)] },
      },
      series: [{}].concat(panel.variables.map((n, i) => ({
        label: label(n),
        stroke: panel.colors[i] || PALETTE[i % PALETTE.length],
        width: 1.5,
        show: !panel.hidden.includes(n),
        value: (u, v) => fmt(v, unitOf(n)),
        points: { show: times.length < 60 },
      }))),
      axes: [{}, { values: (u, splits) => splits.map((v) => fmt(v, unit)), size: 70 }],
      cursor: { drag: { x: true, y: false, setScale: false } },
      hooks: {
        setSelect: [(u) => {
          if (u.select.width < 5 || editing) return;
          const from = u.posToVal(u.select.left, "x");
          const to = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          setView({ from, to });
        }],
      },
    };
    if (box.plot) box.plot.destroy();
    plot.textContent = "";
    box.plot = new uPlot(opts, data, plot);
    if (count === 0) {
      const note = document.createElement("div");
      note.className = "nodata";
      note.textContent = "No data in this range";
      plot.appendChild(note);
    }
    delete content.dataset.loading;
  }

  async function fillText(box) {
    const figures = box.content.querySelector(".figures");
    const known = page.texts[box.panel.text];
    if (known !== undefined && !box.fetched) { figures.textContent = known; return; }
    const res = await fetch(`/servers/${host}/text?t=${encodeURIComponent(box.panel.text)}`);
    if (res.ok) figures.textContent = await res.text();
    box.fetched = true;
  }

  function drawAll() {
    shown();
    for (const b of boxes) b.panel.kind === "chart" ? draw(b) : fillText(b);
  }

  // A box's inside: a head (the drag handle in edit mode) and a chart or text.
  function fill(box) {
    const { content, panel } = box;
    if (box.plot) { box.plot.destroy(); box.plot = null; }
    content.replaceChildren();
    content.className = `grid-stack-item-content panel ${panel.kind}`;
    delete content.dataset.chart;
    delete content.dataset.points;
    if (panel.kind === "chart") content.dataset.chart = "";
    const head = document.createElement("div");
    head.className = "panel-head";
    const h2 = document.createElement("h2");
    h2.textContent = panel.title;
    const tools = document.createElement("span");
    tools.className = "panel-tools";
    for (const [attr, text, name] of [["data-configure", "⚙", "Edit box"], ["data-remove", "✕", "Remove box"]]) {
      const b = document.createElement("button");
      b.type = "button";
      b.setAttribute(attr, "");
      b.textContent = text;
      b.title = name;
      b.setAttribute("aria-label", `${name} ${panel.title}`);
      tools.appendChild(b);
    }
    head.append(h2, tools);
    const body = document.createElement(panel.kind === "chart" ? "div" : "p");
    body.className = panel.kind === "chart" ? "plot" : "figures";
    content.append(head, body);
  }

  function addBox(panel, place) {
    const item = document.createElement("div");
    item.className = "grid-stack-item";
    const content = document.createElement("section");
    item.appendChild(content);
    const box = { item, content, panel, plot: null };
    fill(box);
    gridEl.appendChild(item);
    grid.makeWidget(item, place);
    boxes.push(box);
    return box;
  }

  const grid = GridStack.init({
    column: columns,
    cellHeight: 70,
    margin: 6,
    staticGrid: true,
    animate: false,
    handle: ".panel-head",
    // Edit mode shows every resize handle: no hunting for a hover target.
    alwaysShowResizeHandle: true,
  }, gridEl);
  const ordered = [...page[device].panels].sort((a, b) => a.y - b.y || a.x - b.x);
  grid.batchUpdate();
  for (const p of ordered) addBox(p, { x: p.x, y: p.y, w: p.w, h: p.h });
  grid.batchUpdate(false);
  gridEl.dataset.device = device;
  gridEl.dataset.saved = String(page[device].saved);

  grid.on("resizestop", (event, el) => {
    const box = boxes.find((b) => b.item === el);
    const plot = box && box.content.querySelector(".plot");
    if (box && box.plot && plot) box.plot.setSize(plotSize(plot));
  });

  // ---- edit mode ----
  const note = root.querySelector("[data-note]");
  const say = (text, bad) => { if (note) { note.textContent = text; note.classList.toggle("error", !!bad); } };

  function setEditing(on) {
    editing = on;
    root.classList.toggle("is-editing", on);
    grid.setStatic(!on);
    const bar = root.querySelector(".editing");
    if (bar) bar.hidden = !on;
    const start = root.querySelector("[data-edit]");
    if (start) start.hidden = on;
  }

  function current() {
    return boxes.map(({ item, panel }) => {
      const n = item.gridstackNode;
      return { ...panel, x: n.x, y: n.y, w: n.w, h: n.h };
    });
  }

  async function save() {
    say("Saving…");
    let res;
    try {
      res = await fetch(`/api/v1/hosts/${host}/layouts/${device}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf() },
        body: JSON.stringify({ panels: current() }),
      });
    } catch (e) {
      say(`Not saved: ${e.message}`, true);
      return;
    }
    if (!res.ok) {
      let message = `${res.status}`;
      try { message = (await res.json()).error.message; } catch { /* keep the status */ }
      say(`Not saved: ${message}`, true);
      return;
    }
    gridEl.dataset.saved = "true";
    setEditing(false);
    say(`Saved the ${device} layout for everyone in the workspace.`);
  }

  // ---- the box editor ----
  const dialog = root.querySelector("[data-editor]");
  let editingBox = null; // the box being edited, or {new: panel} for a new one

  function seriesRow(name, i, panel) {
    const li = document.createElement("li");
    const at = panel.variables.indexOf(name);
    const pick = document.createElement("input");
    pick.type = "checkbox";
    pick.name = "pick";
    pick.value = name;
    pick.checked = at >= 0;
    const text = document.createElement("label");
    text.append(pick, ` ${name}`);
    const color = document.createElement("input");
    color.type = "color";
    color.name = "color";
    color.value = (at >= 0 && panel.colors[at]) || PALETTE[(at >= 0 ? at : i) % PALETTE.length];
    color.setAttribute("aria-label", `Colour of ${name}`);
    const show = document.createElement("label");
    const showBox = document.createElement("input");
    showBox.type = "checkbox";
    showBox.name = "show";
    showBox.checked = !panel.hidden.includes(name);
    show.append(showBox, " shown");
    li.dataset.name = name;
    li.append(text, color, show);
    return li;
  }

  function openEditor(panel, target) {
    editingBox = target;
    const f = dialog.querySelector("form");
    f.elements.title.value = panel.title;
    f.elements.kind.value = panel.kind;
    f.elements.text.value = panel.text;
    f.elements.y_min.value = panel.y_min ?? "";
    f.elements.y_max.value = panel.y_max ?? "";
    f.elements.filter.value = "";
    const list = dialog.querySelector("[data-series]");
    const names = panel.variables.concat(page.variables.filter((n) => !panel.variables.includes(n)));
    list.replaceChildren(...names.map((n, i) => seriesRow(n, i, panel)));
    dialog.querySelector("[data-editor-error]").textContent = "";
    showKind();
    dialog.showModal();
  }

  function showKind() {
    const kind = dialog.querySelector("form").elements.kind.value;
    for (const s of dialog.querySelectorAll("[data-for]")) s.hidden = s.dataset.for !== kind;
  }

  function fromEditor(old) {
    const f = dialog.querySelector("form");
    const kind = f.elements.kind.value;
    const rows = [...dialog.querySelectorAll("[data-series] li")].filter((li) => li.querySelector("[name=pick]").checked);
    const variables = rows.map((li) => li.dataset.name);
    const num = (v) => (v.trim() === "" ? null : Number(v));
    const panel = {
      ...old,
      kind,
      title: f.elements.title.value.trim(),
      variables: kind === "chart" ? variables : [],
      colors: kind === "chart" ? rows.map((li) => li.querySelector("[name=color]").value) : [],
      hidden: kind === "chart" ? rows.filter((li) => !li.querySelector("[name=show]").checked).map((li) => li.dataset.name) : [],
      y_min: kind === "chart" ? num(f.elements.y_min.value) : null,
      y_max: kind === "chart" ? num(f.elements.y_max.value) : null,
      text: kind === "text" ? f.elements.text.value : "",
    };
    if (kind === "chart" && variables.length === 0) return "Pick at least one variable.";
    if (kind === "chart" && variables.length > MAX_SERIES) return `A chart draws at most ${MAX_SERIES} variables.`;
    if (kind === "text" && panel.text.trim() === "") return "Write the text to show.";
    if (panel.y_min != null && panel.y_max != null && !(panel.y_min < panel.y_max)) return "The y axis must end above where it starts.";
    return panel;
  }

  if (dialog) {
    const f = dialog.querySelector("form");
    f.addEventListener("change", (event) => {
      if (event.target.name !== "kind") return;
      // A chart turned into text starts with its variables' current values.
      if (f.elements.kind.value === "text" && f.elements.text.value.trim() === "") {
        const picked = [...dialog.querySelectorAll("[data-series] [name=pick]:checked")].map((c) => c.value);
        f.elements.text.value = picked.map((n) => `${label(n)} {{ ${n} }}`).join(" · ");
      }
      showKind();
    });
    f.elements.filter.addEventListener("input", () => {
      const words = f.elements.filter.value.toLowerCase();
      for (const li of dialog.querySelectorAll("[data-series] li")) li.hidden = !li.dataset.name.toLowerCase().includes(words);
    });
    dialog.querySelector("[data-apply]").addEventListener("click", (event) => {
      const target = editingBox;
      const old = target.new || target.panel;
      const panel = fromEditor(old);
      if (typeof panel === "string") {
        event.preventDefault();
        dialog.querySelector("[data-editor-error]").textContent = panel;
        return;
      }
      let box = target;
      if (target.new) {
        box = addBox(panel, { w: Math.min(panel.w, columns), h: panel.h, autoPosition: true });
      } else {
        box.panel = panel;
        fill(box);
      }
      box.fetched = true;
      panel.kind === "chart" ? draw(box) : fillText(box);
    });
  }

  root.addEventListener("click", (event) => {
    const b = event.target.closest("button");
    if (!b) return;
    if (b.dataset.range) setView({ range: b.dataset.range });
    if (b.dataset.step) {
      const w = span();
      const width = w.to - w.from;
      const now = Date.now();
      let to = Math.min(now, w.to + width * Number(b.dataset.step));
      // Stepping to within a minute of now reaches now: the latest cycle.
      if (now - to < Math.max(60e3, width * 0.05)) to = now;
      setView({ from: to - width, to });
    }
    if (b.hasAttribute("data-edit")) { say(""); setEditing(true); }
    if (b.hasAttribute("data-cancel")) location.reload();
    if (b.hasAttribute("data-save")) save();
    if (b.hasAttribute("data-reset")) {
      fetch(`/api/v1/hosts/${host}/layouts/${device}`, { method: "DELETE", headers: { "X-CSRF-Token": csrf() } })
        .then((res) => (res.ok ? location.reload() : say(`Not reset: ${res.status}`, true)));
    }
    if (b.dataset.add) {
      const chart = b.dataset.add === "chart";
      const blank = { kind: b.dataset.add, title: chart ? "New chart" : "New text", variables: [], colors: [], hidden: [], y_min: null, y_max: null, text: "", x: 0, y: 0, w: chart ? 6 : 4, h: chart ? 4 : 2 };
      openEditor(blank, { new: blank });
    }
    const box = boxes.find((x) => x.content.contains(b));
    if (box && b.hasAttribute("data-remove")) {
      grid.removeWidget(box.item);
      if (box.plot) box.plot.destroy();
      boxes = boxes.filter((x) => x !== box);
    }
    if (box && b.hasAttribute("data-configure")) openEditor(box.panel, box);
  });

  const custom = root.querySelector("[data-custom]");
  if (custom) {
    custom.addEventListener("submit", (event) => {
      event.preventDefault();
      const from = new Date(custom.elements.from.value).getTime();
      const to = new Date(custom.elements.to.value).getTime();
      if (from < to) setView({ from, to });
    });
  }
  // Keep the URL's range when moving to another server.
  const switcher = root.querySelector("[data-navigate]");
  if (switcher) {
    switcher.addEventListener("change", () => { location.href = switcher.value + location.search; });
  }
  // Crossing the phone/desktop width shows the other layout.
  phone.addEventListener("change", () => { if (!editing) location.reload(); });
  let resizing;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      for (const b of boxes) {
        const plot = b.content.querySelector(".plot");
        if (b.plot && plot) b.plot.setSize(plotSize(plot));
      }
    }, 150);
  });
  // A view that follows now moves on with each minute's cycle.
  setInterval(() => {
    if (!view.range || editing) return;
    for (const b of boxes) b.fetched = true;
    drawAll();
  }, 60e3);
  drawAll();
})();
