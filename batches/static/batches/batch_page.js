// Live progress of a batch page: poll the JSON status endpoint while the batch runs,
// refresh the panels in place now and then and when it ends (no page reload). Confirm buttons that discard or send.
"use strict";
(function () {
  const live = document.getElementById("batch-live");
  if (!live) return;
  const FINAL = ["completed", "failed", "cancelled"];
  // While it runs, the panels' counts are brought up to date this often (each is a page
  // render, so not on every poll) when the batch has moved on since.
  const PANELS_EVERY_MS = 5000;
  let panelsAt = Date.now();
  let panelsProcessed = null;
  const text = (id, value) => { const el = document.getElementById(id); if (el) el.textContent = value; };
  // Counts as the page writes them: 3,000.
  const thousands = (n) => Number(n).toLocaleString("en-GB");

  // On the document, not on each button: the actions panel is replaced when it refreshes.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("#batch-actions [data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });

  async function refreshPanels() {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    // The actions too: those that only change a running batch go once it has ended.
    for (const id of ["batch-actions", "batch-errors", "batch-enrichment", "batch-ai", "batch-webhooks"]) {
      const fresh = page.getElementById(id);
      const current = document.getElementById(id);
      if (fresh && current) current.replaceWith(fresh);
    }
    // The times and the failure reason below the panels were blank when the page loaded.
    for (const field of ["error", "started_at", "completed_at", "progress_at"]) {
      const fresh = page.querySelector(".form-row.field-" + field);
      const current = document.querySelector(".form-row.field-" + field);
      if (fresh && current) current.replaceWith(fresh);
    }
  }

  async function poll() {
    try {
      const response = await fetch(live.dataset.statusUrl, { credentials: "same-origin" });
      if (response.ok) {
        const s = await response.json();
        document.getElementById("batch-progress").value = s.progress;
        text("batch-progress-label", s.progress + "%");
        text("batch-status", s.status.charAt(0).toUpperCase() + s.status.slice(1));
        text("batch-processed", thousands(s.processed_leads));
        text("batch-total", thousands(s.total_leads));
        text("batch-valid", thousands(s.valid));
        text("batch-invalid", thousands(s.invalid));
        text("batch-duplicate", thousands(s.duplicate));
        if (FINAL.includes(s.status)) {
          await refreshPanels();
          live.dataset.status = s.status;
          return;
        }
        if (Date.now() - panelsAt >= PANELS_EVERY_MS && s.processed_leads !== panelsProcessed) {
          panelsAt = Date.now();
          panelsProcessed = s.processed_leads;
          await refreshPanels();
        }
      }
    } catch (error) { /* a missed poll is retried */ }
    window.setTimeout(poll, 1000);
  }
  if (!FINAL.includes(live.dataset.status)) window.setTimeout(poll, 500);
})();
