// Readout's own script: small behaviours the pages share. No inline
// scripts anywhere: the Content-Security-Policy forbids them.
"use strict";

document.addEventListener("input", (event) => {
  const input = event.target;
  const rows = input.dataset && input.dataset.filter;
  if (!rows) return;
  const wanted = input.value.trim().toLowerCase();
  for (const row of document.querySelectorAll(rows)) {
    row.hidden = wanted !== "" && !row.textContent.toLowerCase().includes(wanted);
  }
});
