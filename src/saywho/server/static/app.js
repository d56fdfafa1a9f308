// The job page: upload with options, follow the jobs live (server-sent events), download.
"use strict";

const $ = (selector) => document.querySelector(selector);
let formats = [];
let chosen = [];

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (response.status === 401) {
    showLogin();
    throw new Error("sign in with the API token first");
  }
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (_) { /* not JSON */ }
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return response;
}

function showLogin() { $("#login").hidden = false; }

async function start() {
  const info = await (await fetch("/v1/info")).json();
  formats = info.formats;
  const select = $("#model");
  for (const name of info.models) {
    const option = new Option(name, name, name === info.default_model, name === info.default_model);
    select.add(option);
  }
  followJobs();
}

// -- choosing and uploading files --------------------------------------------------------

function choose(files) {
  chosen = Array.from(files);
  const list = $("#chosen");
  list.replaceChildren(...chosen.map((f) => {
    const item = document.createElement("li");
    item.textContent = `${f.name} (${(f.size / 1e6).toFixed(1)} MB)`;
    return item;
  }));
  $("#upload").disabled = chosen.length === 0;
}

function upload(event) {
  event.preventDefault();
  if (!chosen.length) return;
  const form = new FormData();
  for (const file of chosen) form.append("files", file, file.name);
  form.append("model", $("#model").value);
  form.append("language", $("#language").value.trim());
  for (const name of ["num_speakers", "min_speakers", "max_speakers"]) {
    form.append(name, $(`#${name.replace("_", "-")}`).value.trim());
  }
  const status = $("#upload-status");
  const request = new XMLHttpRequest();
  request.open("POST", "/v1/jobs");
  request.upload.onprogress = (e) => {
    if (e.lengthComputable) status.textContent = `uploading… ${Math.round((100 * e.loaded) / e.total)} %`;
  };
  request.onload = () => {
    if (request.status === 201) {
      status.textContent = `queued ${chosen.length} file(s)`;
      status.className = "";
      choose([]);
      $("#files").value = "";
    } else {
      if (request.status === 401) showLogin();
      let detail = request.statusText;
      try { detail = JSON.parse(request.responseText).detail; } catch (_) { /* not JSON */ }
      status.textContent = `upload failed: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`;
      status.className = "error";
    }
  };
  request.onerror = () => { status.textContent = "upload failed: no connection"; status.className = "error"; };
  status.textContent = "uploading…";
  request.send(form);
}

// -- the live job list --------------------------------------------------------------------

async function followJobs() {
  const connection = $("#connection");
  for (;;) {
    try {
      const response = await api("/v1/events");
      connection.textContent = "";
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          handleEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      connection.textContent = `not connected (${error.message}); retrying…`;
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function handleEvent(block) {
  let kind = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) kind = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trim());
  }
  if (kind === "jobs" && data.length) renderJobs(JSON.parse(data.join("\n")).jobs);
}

function renderJobs(jobs) {
  $("#no-jobs").hidden = jobs.length > 0;
  $("#jobs tbody").replaceChildren(...jobs.slice().reverse().map(jobRow));
}

function cell(className, ...children) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.append(...children);
  return td;
}

// A length as people say it: "7 s", "3 min 05 s", "1 h 02 min".
function humanDuration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const total = Math.round(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor(total / 60) % 60;
  const secs = total % 60;
  const two = (n) => String(n).padStart(2, "0");
  if (hours) return `${hours} h ${two(minutes)} min`;
  if (minutes) return `${minutes} min ${two(secs)} s`;
  return `${secs} s`;
}

function link(text, href, attributes = {}) {
  const a = document.createElement("a");
  a.textContent = text;
  a.href = href;
  for (const [key, value] of Object.entries(attributes)) a.setAttribute(key, value);
  return a;
}

function jobRow(job) {
  const row = document.createElement("tr");
  row.className = `job ${job.status}`;
  row.dataset.id = job.id;
  row.dataset.status = job.status;
  const status = document.createElement("span");
  status.className = "status";
  status.textContent = job.status === "running" ? `${job.status} · ${job.stage || ""}` : job.status;
  if (job.error) status.title = job.error;
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.value = job.percent;
  const percent = document.createElement("span");
  percent.className = "percent";
  percent.textContent = ` ${Math.round(job.percent)} %`;
  const result = document.createElement("span");
  result.className = "downloads";
  if (job.status === "done") {
    result.append(link("review", `/jobs/${job.id}`, { class: "review" }));
    for (const fmt of formats) {
      result.append(link(fmt, `/v1/jobs/${job.id}/result?format=${fmt}`, { "data-format": fmt, download: "" }));
    }
  } else if (job.error) {
    result.className = "error";
    result.textContent = job.error;
  }
  const remove = document.createElement("button");
  remove.className = "delete";
  remove.textContent = "delete";
  remove.onclick = async () => {
    if (!confirm(`Delete ${job.filename} and its results?`)) return;
    try { await api(`/v1/jobs/${job.id}`, { method: "DELETE" }); } catch (error) { alert(error.message); }
  };
  row.append(
    cell("file", job.filename),
    cell("number length", humanDuration(job.duration_s)),
    cell("number speakers", job.speakers === null || job.speakers === undefined ? "" : String(job.speakers)),
    cell("", status),
    cell("progress", bar, percent),
    cell("", result),
    cell("", remove),
  );
  return row;
}

// -- wiring -------------------------------------------------------------------------------

$("#files").addEventListener("change", (e) => choose(e.target.files));
$("#options").addEventListener("submit", upload);
const drop = $("#drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  choose(e.dataTransfer.files);
});
$("#login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    await api("/v1/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: $("#token").value }),
    });
    $("#login").hidden = true;
    $("#login-status").textContent = "";
  } catch (error) {
    $("#login-status").textContent = error.message;
  }
});
start();
