// polyfleet dashboard: run progress over server-sent events, and form fields that depend on a choice.
"use strict";

function followRun(box) {
  const id = box.dataset.run;
  if (!["queued", "running"].includes(box.dataset.status)) return;
  const bar = document.getElementById("run-progress");
  const status = document.getElementById("run-status");
  const message = document.getElementById("run-message");
  const log = document.getElementById("run-log");
  const source = new EventSource(`/runs/${id}/stream`);
  source.addEventListener("progress", (e) => {
    const d = JSON.parse(e.data);
    if (d.progress !== null) bar.value = d.progress;
    message.textContent = d.message;
    const li = document.createElement("li");
    li.textContent = `${d.at.slice(11, 19)} ${d.message}`;
    log.appendChild(li);
    if (status.textContent === "queued" && d.attempt > 0) status.textContent = "running";
  });
  source.addEventListener("end", (e) => {
    source.close();
    status.textContent = JSON.parse(e.data).status;
    window.location.reload();
  });
}

function toggleFields(form, select) {
  const show = () => {
    for (const el of form.querySelectorAll("[data-for]")) {
      const on = el.dataset.for.split(" ").includes(select.value);
      el.hidden = !on;
      for (const input of el.querySelectorAll("input, select")) input.disabled = !on;
    }
  };
  select.addEventListener("change", show);
  show();
}

document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("progress");
  if (box) followRun(box);
  const ev = document.getElementById("event-form");
  if (ev) toggleFields(ev, document.getElementById("kind"));
  const run = document.getElementById("run-form");
  if (run) toggleFields(run, document.getElementById("run-kind"));
});
