// The servers list: search and status filter (kept in the URL, so a link
// or a reload keeps them), and a day of load per server drawn as an SVG
// sparkline once the list shows.
"use strict";

(() => {
  const table = document.querySelector("#servers");
  if (!table) return;
  const rows = [...table.tBodies[0].rows];
  const search = document.querySelector("[data-search]");
  const buttons = [...document.querySelectorAll("[data-status]")].filter((b) => b.tagName === "BUTTON");
  const q = new URLSearchParams(location.search);
  let status = q.get("status") || "";
  if (search) search.value = q.get("q") || "";

  function apply() {
    const words = search ? search.value.trim().toLowerCase() : "";
    let shown = 0;
    for (const row of rows) {
      row.hidden = (status !== "" && row.dataset.status !== status) || (words !== "" && !row.textContent.toLowerCase().includes(words));
      if (!row.hidden) shown++;
    }
    for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.status === status));
    const none = document.querySelector("[data-none]");
    if (none) none.hidden = shown > 0;
    const note = document.querySelector("[data-shown]");
    if (note) note.textContent = shown === rows.length ? "" : `${shown} of ${rows.length} shown`;
    const next = new URLSearchParams();
    if (words) next.set("q", words);
    if (status) next.set("status", status);
    history.replaceState(null, "", next.toString() ? `?${next}` : location.pathname);
  }
  if (search) search.addEventListener("input", apply);
  for (const b of buttons) b.addEventListener("click", () => { status = b.dataset.status; apply(); });
  apply();

  const SVG = "http://www.w3.org/2000/svg";
  function sparkline(points, from, to) {
    const w = 120, h = 28;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    svg.setAttribute("width", w);
    svg.setAttribute("height", h);
    svg.setAttribute("role", "img");
    const max = Math.max(...points.map((p) => p[1]), 1e-9);
    const x = (t) => ((t - from) / (to - from)) * (w - 2) + 1;
    const y = (v) => h - 2 - (v / max) * (h - 4);
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", "currentColor");
    line.setAttribute("stroke-width", "1.5");
    svg.appendChild(line);
    // The latest value as a dot: a lone bucket still shows.
    const [lastAt, last] = points[points.length - 1];
    const dot = document.createElementNS(SVG, "circle");
    dot.setAttribute("cx", x(lastAt).toFixed(1));
    dot.setAttribute("cy", y(last).toFixed(1));
    dot.setAttribute("r", "2");
    dot.setAttribute("fill", "currentColor");
    svg.appendChild(dot);
    const title = document.createElementNS(SVG, "title");
    title.textContent = `load now ${+last.toFixed(2)}, highest ${+max.toFixed(2)}`;
    svg.appendChild(title);
    svg.setAttribute("aria-label", title.textContent);
    return svg;
  }

  fetch("/servers/sparklines", { headers: { Accept: "application/json" } })
    .then((res) => (res.ok ? res.json() : null))
    .then((answer) => {
      if (!answer) return;
      const to = Date.now();
      for (const row of rows) {
        const points = answer.hosts[row.dataset.host];
        const cell = row.querySelector("[data-spark]");
        if (!cell) continue;
        if (points && points.length) cell.replaceChildren(sparkline(points, answer.from_ms, to));
        else cell.textContent = "—";
        cell.dataset.points = String(points ? points.length : 0);
      }
    });
})();
