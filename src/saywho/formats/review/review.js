// saywho review page: playback highlight, click to seek, rename, search, downloads.
// Everything the page needs is in this file and the JSON blocks of the page: no network,
// except the POSTs to the review API when `saywho serve` provides one.
"use strict";
(function () {
  const readJson = (id) => JSON.parse(document.getElementById(id).textContent);
  const data = readJson("transcript-data");
  const cues = readJson("cue-data");
  const api = readJson("review-api");
  const player = document.getElementById("player");
  const status = document.getElementById("status");
  const autoscroll = document.getElementById("autoscroll");
  const search = document.getElementById("search");
  const searchCount = document.getElementById("search-count");
  const UNKNOWN = "UNKNOWN";

  // -- layout: the speakers panel and scrolled-to words stay below the sticky header -----------
  const top = document.querySelector(".top");
  function measureTop() {
    const sticky = getComputedStyle(top).position === "sticky";
    document.documentElement.style.setProperty("--top-height", (sticky ? top.offsetHeight : 0) + "px");
  }
  measureTop();
  if (window.ResizeObserver) new ResizeObserver(measureTop).observe(top);
  window.addEventListener("resize", measureTop);

  // -- speaker names -------------------------------------------------------------------------
  const names = new Map();
  for (const speaker of data.speakers) names.set(speaker.label, speaker.name ?? speaker.label);
  const nameOf = (label) => (label === null || label === undefined ? UNKNOWN : names.get(label) ?? label);
  const hasSpeakers =
    data.speakers.length > 0 ||
    data.turns.length > 0 ||
    data.utterances.some((u) => u.speaker !== null || u.words.some((w) => w.speaker !== null));

  function showStatus(message, kind) {
    status.textContent = message;
    status.className = kind || "";
  }

  function authHeaders() {
    const headers = { "Content-Type": "application/json" };
    if (api && api.token) headers.Authorization = "Bearer " + api.token;
    return headers;
  }

  async function post(url, body) {
    const response = await fetch(url, { method: "POST", headers: authHeaders(), body: JSON.stringify(body) });
    if (!response.ok) {
      let detail = response.statusText;
      try {
        const payload = await response.json();
        detail = payload.detail || payload.error || detail;
      } catch (_) {
        /* not JSON: keep the status text */
      }
      throw new Error(response.status + " " + detail);
    }
  }

  function rename(label, typed) {
    const name = typed.trim() || label;
    const before = nameOf(label);
    names.set(label, name);
    for (const element of document.querySelectorAll(".speaker-name")) {
      if (element.dataset.speaker === label) element.textContent = name;
    }
    for (const input of document.querySelectorAll("input.rename")) {
      if (input.dataset.speaker === label && input.value !== name) input.value = name;
    }
    if (!api || !api.rename_url || name === before) {
      showStatus(name === before ? "" : label + " is now shown as " + name + ".", "ok");
      return;
    }
    showStatus("Saving the name " + name + "…");
    post(api.rename_url, { label: label, name: name }).then(
      () => showStatus("Saved: " + label + " is " + name + ".", "ok"),
      (error) => showStatus("Could not save the name " + name + ": " + error.message, "error"),
    );
  }

  for (const input of document.querySelectorAll("input.rename")) {
    input.addEventListener("change", () => rename(input.dataset.speaker, input.value));
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") input.blur();
    });
  }
  for (const button of document.querySelectorAll("button.remember")) {
    button.addEventListener("click", () => {
      const label = button.dataset.speaker;
      const name = nameOf(label);
      if (!api || !api.enroll_url) return;
      showStatus("Remembering the voice of " + name + "…");
      post(api.enroll_url, { label: label, name: name }).then(
        () => showStatus("The voice of " + name + " is remembered.", "ok"),
        (error) => showStatus("Could not remember the voice of " + name + ": " + error.message, "error"),
      );
    });
  }

  // -- playback: the current word --------------------------------------------------------------
  const words = Array.from(document.querySelectorAll(".word"));
  const timed = words
    .map((element) => ({ element, start: Number(element.dataset.start), end: Number(element.dataset.end) }))
    .filter((w) => w.end > w.start)
    .sort((a, b) => a.start - b.start);
  let current = null;

  function wordAt(seconds) {
    // The last word starting at or before `seconds` (binary search), if it is still going.
    let low = 0;
    let high = timed.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (timed[middle].start <= seconds) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    for (let i = found; i >= 0 && i > found - 4; i--) {
      if (seconds < timed[i].end) return timed[i].element;
    }
    return null;
  }

  function isVisible(element) {
    const box = element.getBoundingClientRect();
    const below = top.getBoundingClientRect().bottom;
    return box.top >= below && box.bottom <= window.innerHeight;
  }

  function highlight() {
    if (!player) return;
    const element = wordAt(player.currentTime);
    if (element === current) return;
    if (current) current.classList.remove("current");
    current = element;
    if (!current) return;
    current.classList.add("current");
    if (autoscroll.checked && !isVisible(current)) {
      current.scrollIntoView({ block: "center", behavior: "smooth" });
    }
  }

  let frame = 0;
  function follow() {
    highlight();
    frame = player && !player.paused ? requestAnimationFrame(follow) : 0;
  }
  if (player) {
    player.addEventListener("play", () => {
      if (!frame) frame = requestAnimationFrame(follow);
    });
    for (const event of ["timeupdate", "seeked", "pause"]) player.addEventListener(event, highlight);
    player.addEventListener("error", () => showStatus("The media file could not be played.", "error"), true);
  }

  function seek(seconds) {
    if (!player) return;
    player.currentTime = seconds;
    highlight();
    const playing = player.play();
    if (playing) playing.catch(() => {});
  }
  document.getElementById("transcript").addEventListener("click", (event) => {
    const target = event.target.closest(".word, .time");
    if (target) seek(Number(target.dataset.start));
  });

  // -- search -----------------------------------------------------------------------------------
  const fold = (text) => text.toLocaleLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  const folded = words.map((element) => fold(element.textContent));
  let matches = [];
  let matchIndex = -1;

  function runSearch() {
    for (const element of document.querySelectorAll(".word.match")) element.classList.remove("match");
    const tokens = fold(search.value).split(/\s+/).filter(Boolean);
    matches = [];
    matchIndex = -1;
    if (tokens.length > 0) {
      for (let i = 0; i + tokens.length <= words.length; i++) {
        if (tokens.every((token, k) => folded[i + k].includes(token))) {
          const run = words.slice(i, i + tokens.length);
          run.forEach((element) => element.classList.add("match"));
          matches.push(run[0]);
        }
      }
    }
    searchCount.textContent =
      tokens.length === 0 ? "" : matches.length + (matches.length === 1 ? " match" : " matches");
  }
  search.addEventListener("input", runSearch);
  search.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || matches.length === 0) return;
    matchIndex = (matchIndex + (event.shiftKey ? matches.length - 1 : 1)) % matches.length;
    matches[matchIndex].scrollIntoView({ block: "center" });
    searchCount.textContent = matchIndex + 1 + " of " + matches.length;
  });

  // -- downloads, with the names as they are now ------------------------------------------------
  const pad = (value, width) => String(value).padStart(width, "0");
  function timestamp(seconds, marker) {
    const total = Math.round(seconds * 1000);
    const hours = Math.floor(total / 3600000);
    const minutes = Math.floor(total / 60000) % 60;
    const secs = Math.floor(total / 1000) % 60;
    return pad(hours, 2) + ":" + pad(minutes, 2) + ":" + pad(secs, 2) + marker + pad(total % 1000, 3);
  }

  function editedJson() {
    const copy = JSON.parse(JSON.stringify(data));
    const listed = new Set(copy.speakers.map((s) => s.label));
    for (const speaker of copy.speakers) {
      const name = nameOf(speaker.label);
      speaker.name = name === speaker.label ? null : name;
    }
    for (const [label, name] of names) {
      if (!listed.has(label) && name !== label) {
        copy.speakers.push({ label: label, name: name, confidence: null, centroid: null });
      }
    }
    return JSON.stringify(copy, null, 2) + "\n";
  }

  // The cues as the SRT writer cut them; a line shows its speaker's current name only where
  // the writer put a name (the speaker changes), a shared cue keeps its dashes.
  function cueLine(line) {
    const who = line.labelled && line.speaker !== null ? nameOf(line.speaker) + ": " : "";
    return (line.dash ? "- " : "") + who + line.text;
  }

  function editedSrt() {
    return cues
      .map((cue, i) => {
        const times = timestamp(cue.start, ",") + " --> " + timestamp(cue.end, ",");
        return i + 1 + "\n" + times + "\n" + cue.lines.map(cueLine).join("\n") + "\n\n";
      })
      .join("");
  }

  function editedTxt() {
    return data.utterances
      .map((u) => {
        const text = u.text.split(/\s+/).filter(Boolean).join(" ");
        if (!text) return "";
        if (!hasSpeakers) return text + "\n";
        return "[" + timestamp(u.start, ".") + "] " + nameOf(u.speaker) + ": " + text + "\n";
      })
      .join("");
  }

  const makers = {
    json: [editedJson, "application/json"],
    srt: [editedSrt, "application/x-subrip"],
    txt: [editedTxt, "text/plain"],
  };
  const stem = (data.source.split(/[\\/]/).pop() || "transcript").replace(/\.[^.]*$/, "") || "transcript";
  for (const button of document.querySelectorAll("button[data-download]")) {
    button.addEventListener("click", () => {
      const [make, type] = makers[button.dataset.download];
      const blob = new Blob([make()], { type: type + ";charset=utf-8" });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = stem + "." + button.dataset.download;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    });
  }
})();
