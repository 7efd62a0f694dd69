// Data sources. On the list: saving which commands run. In the editor: the
// latest output split into a table of named cells (A1, B2 …) by the
// server's own splitter; a click on a cell fills in a variable (by row
// label and header where that is steady, else by name); every change is
// previewed on that output; saving writes the parser, the ranges and the
// back-filled history. Output is put in with textContent, never as HTML.
"use strict";

(() => {
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch { return ""; }
  }

  // JSON to /api/v1; resolves to the answer, or throws its error message.
  async function api(method, path, body) {
    const res = await fetch(`/api/v1${path}`, {
      method,
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 204) return null;
    let answer = null;
    try { answer = await res.json(); } catch { /* no body */ }
    if (!res.ok) throw new Error((answer && answer.error && answer.error.message) || `${res.status} ${res.statusText}`);
    return answer;
  }

  // ---- the list: which commands run ----
  const commands = document.querySelector("[data-commands]");
  if (commands) {
    commands.addEventListener("submit", async (event) => {
      event.preventDefault();
      const note = commands.querySelector("[data-note]");
      const names = [...commands.querySelectorAll("[name=run]:checked:not(:disabled)")].map((c) => c.value);
      try {
        await api("PUT", `/hosts/${encodeURIComponent(commands.dataset.host)}/commands`, { commands: names });
        note.textContent = "Saved: the agent runs these from its next cycle.";
        note.className = "";
      } catch (e) {
        note.textContent = `Not saved: ${e.message}`;
        note.className = "error";
      }
    });
  }

  // ---- the editor ----
  const root = document.querySelector("[data-source]");
  if (!root) return;
  const data = JSON.parse(root.dataset.source);
  const host = encodeURIComponent(data.host);
  const command = data.command;
  const parser = data.parser || { preset: null, table: null, variables: [] };
  const split = root.querySelector("[data-split]");
  const cells = root.querySelector("[data-cells]");
  const form = root.querySelector("[data-variable]");
  const saved = new URLSearchParams(location.search).get("saved");
  if (saved) root.querySelector("[data-saved]").textContent = `Saved ${saved}.`;

  // `\n` and `\t` as typed stand for a newline and a tab.
  const unescape = (t) => t.replace(/\\n/g, "\n").replace(/\\t/g, "\t").replace(/\\r/g, "\r");
  const escape = (t) => t.replace(/\r/g, "\\r").replace(/\n/g, "\\n").replace(/\t/g, "\\t");

  function spec() {
    const f = split.elements;
    const columns = f.columns.value === "delimiter" ? { delimiter: f.delimiter.value } : f.columns.value;
    return { line_delimiter: unescape(f.line_delimiter.value) || "\n", columns, skip_empty_rows: true };
  }

  if (split && parser.table) {
    split.elements.line_delimiter.value = escape(parser.table.line_delimiter || "\n");
    const c = parser.table.columns;
    if (typeof c === "string") split.elements.columns.value = c;
    else if (c && c.delimiter !== undefined) { split.elements.columns.value = "delimiter"; split.elements.delimiter.value = c.delimiter; }
  }

  const letters = (i) => { let s = ""; i += 1; while (i > 0) { const r = (i - 1) % 26; s = String.fromCharCode(65 + r) + s; i = Math.floor((i - 1) / 26); } return s; };

  async function loadTable() {
    let answer;
    try {
      answer = await api("POST", `/hosts/${host}/table`, { command, table: spec() });
    } catch (e) {
      cells.textContent = `Cannot split the output: ${e.message}`;
      return;
    }
    const width = Math.max(0, ...answer.rows.map((r) => r.length));
    const table = document.createElement("table");
    table.className = "cells";
    const head = table.createTHead().insertRow();
    head.appendChild(document.createElement("th"));
    for (let c = 0; c < width; c++) {
      const th = document.createElement("th");
      th.textContent = letters(c);
      head.appendChild(th);
    }
    const body = table.createTBody();
    answer.rows.forEach((row, r) => {
      const tr = body.insertRow();
      const th = document.createElement("th");
      th.textContent = String(r + 1);
      tr.appendChild(th);
      row.forEach((text, c) => {
        const td = tr.insertCell();
        td.textContent = text;
        td.dataset.cell = `${letters(c)}${r + 1}`;
        td.tabIndex = 0;
        td.title = td.dataset.cell;
      });
    });
    cells.replaceChildren(table);
    if (answer.more_rows) {
      const more = document.createElement("p");
      more.className = "muted";
      more.textContent = `${answer.more_rows} more rows not shown.`;
      cells.appendChild(more);
    }
  }

  if (split) {
    split.addEventListener("input", () => { loadTable(); preview(); });
    split.addEventListener("submit", (e) => e.preventDefault());
    loadTable();
  }
  if (!form) return;
  const f = form.elements;

  function showFields() {
    for (const d of form.querySelectorAll("[data-when]")) d.hidden = !d.dataset.when.split(" ").includes(f.from.value);
    for (const d of form.querySelectorAll("[data-when-type]")) d.hidden = d.dataset.whenType !== f.type.value;
    // A range of two ends asks for the second.
    for (const level of ["warning", "error"]) {
      const kind = f[`${level}_kind`].value;
      f[`${level}_a`].hidden = !kind;
      f[`${level}_b`].hidden = !["outside", "inside"].includes(kind);
    }
  }
  showFields();

  // `Mem:` and `used` make `mem_used`.
  const slug = (...parts) => parts.join("_").toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").replace(/^(\d)/, "_$1");

  async function pick(td) {
    for (const old of cells.querySelectorAll("td.picked")) old.classList.remove("picked");
    td.classList.add("picked");
    let answer;
    try {
      answer = await api("POST", `/hosts/${host}/table`, { command, table: spec(), cell: td.dataset.cell });
    } catch (e) {
      root.querySelector("[data-error]").textContent = e.message;
      return;
    }
    const way = answer.pick.ways[0];
    if (way.from === "table") {
      f.from.value = "table";
      f.row_label.value = way.row.first_cell;
      f.header.value = way.column.header;
      if (!f.name.value) f.name.value = slug(way.row.first_cell, way.column.header);
    } else {
      f.from.value = "cell";
      f.cell.value = answer.pick.cell;
    }
    if (/%$/.test(answer.pick.text)) f.type.value = "percent";
    else if (/^[0-9.]+[KMGTP]i?B?$/i.test(answer.pick.text)) f.type.value = "base";
    showFields();
    preview();
  }

  cells.addEventListener("click", (event) => {
    const td = event.target.closest("td[data-cell]");
    if (td) pick(td);
  });
  cells.addEventListener("keydown", (event) => {
    const td = event.target.closest("td[data-cell]");
    if (td && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); pick(td); }
  });

  // The variable the form describes, or a sentence saying what is missing.
  function variable() {
    const name = f.name.value.trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return "Name the variable: letters, digits and _, not starting with a digit.";
    const need = (field, what) => (f[field].value.trim() === "" ? what : null);
    let extract;
    let missing = null;
    switch (f.from.value) {
      case "table":
        missing = need("row_label", "Say which row: its first cell.") || need("header", "Say which column: its header.");
        extract = { from: "table", row: { first_cell: f.row_label.value.trim() }, column: { header: f.header.value.trim() } };
        break;
      case "cell":
        missing = need("cell", "Say which cell, such as B2.");
        extract = { from: "cell", cell: f.cell.value.trim().toUpperCase() };
        break;
      case "regex":
        missing = need("pattern", "Write the pattern.");
        extract = { from: "regex", pattern: f.pattern.value, group: Number(f.group.value || 1) };
        break;
      case "key":
        missing = need("key", "Write the key.");
        extract = { from: "key", key: f.key.value.trim() };
        break;
      case "json":
        missing = need("path", "Write the JSON path.");
        extract = { from: "json", path: f.path.value.trim() };
        break;
      case "lines":
        extract = { from: "count", what: "lines" };
        break;
      case "matches":
        missing = need("pattern", "Write the pattern to count.");
        extract = { from: "count", what: "matches", pattern: f.pattern.value };
        break;
      default:
        extract = { from: "whole" };
    }
    if (missing) return missing;
    const spec = { name, extract, type: f.type.value };
    if (f.type.value === "base") spec.base_unit = Number(f.base_unit.value || 1);
    return spec;
  }

  const out = form.querySelector("[data-preview]");
  let previewing;
  function preview() {
    clearTimeout(previewing);
    previewing = setTimeout(async () => {
      const v = variable();
      if (typeof v === "string") { out.textContent = v; out.className = "preview muted"; return; }
      try {
        const answer = await api("POST", `/hosts/${host}/preview`, { command, parser: { table: spec(), variables: [v] } });
        const error = answer.errors.find((e) => e.variable === v.name);
        if (error) { out.textContent = `No value: ${error.message}`; out.className = "preview error"; return; }
        out.textContent = `${v.name} = ${answer.values[v.name]}`;
        out.className = "preview ok";
      } catch (e) {
        out.textContent = `No value: ${e.message}`;
        out.className = "preview error";
      }
    }, 250);
  }
  form.addEventListener("change", showFields);
  form.addEventListener("input", (event) => {
    if (["from", "type", "warning_kind", "error_kind"].includes(event.target.name)) showFields();
    if (!event.target.name.startsWith("warning") && !event.target.name.startsWith("error") && event.target.name !== "backfill") preview();
  });

  function range(level) {
    const kind = f[`${level}_kind`].value;
    if (!kind) return null;
    const a = f[`${level}_a`].value.trim();
    const b = f[`${level}_b`].value.trim();
    if (a === "") throw new Error(`Give the ${level} range its bound.`);
    if (kind === "above" || kind === "below") return { [kind]: Number(a) };
    if (b === "") throw new Error(`Give the ${level} range both ends.`);
    return { [kind]: [Number(a), Number(b)] };
  }

  async function saveParser(variables) {
    return api("PUT", `/hosts/${host}/sources/${encodeURIComponent(command)}`, {
      parser: { preset: parser.preset || null, table: spec(), variables },
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = root.querySelector("[data-error]");
    error.textContent = "";
    const v = variable();
    if (typeof v === "string") { error.textContent = v; return; }
    let rule = null;
    try {
      const warning = range("warning");
      const bad = range("error");
      if (warning || bad) rule = { warning, error: bad, trigger_after: Number(f.trigger_after.value || 1) };
    } catch (e) {
      error.textContent = e.message;
      return;
    }
    try {
      await saveParser(parser.variables.filter((x) => x.name !== v.name).concat([v]));
      if (rule) await api("PUT", `/hosts/${host}/alerts/${encodeURIComponent(v.name)}`, rule);
      if (f.backfill.checked) await api("POST", `/hosts/${host}/backfill`, { command });
    } catch (e) {
      error.textContent = `Not saved: ${e.message}`;
      return;
    }
    location.href = `${location.pathname}?saved=${encodeURIComponent(v.name)}`;
  });

  root.addEventListener("click", async (event) => {
    const b = event.target.closest("[data-remove]");
    if (!b) return;
    try {
      await saveParser(parser.variables.filter((x) => x.name !== b.dataset.remove));
      location.href = location.pathname;
    } catch (e) {
      root.querySelector("[data-error]").textContent = `Not removed: ${e.message}`;
    }
  });
})();
