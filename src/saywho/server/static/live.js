// The live page: the microphone → an AudioWorklet (16 kHz mono) → the WebSocket /v1/live.
// Committed words appear in their speaker's colour, the tentative tail in grey; click a name
// to rename that speaker (their earlier lines too). Stop turns the session into a job.
"use strict";

const $ = (selector) => document.querySelector(selector);
const PALETTE_SIZE = 8; // .spk-0 … .spk-7 in live.css
let socket = null;
let audio = null; // { context, stream }
let speakers = []; // [{label, name}], as the server last sent them
let lastLine = null; // the line words are added to
let stopping = false;
let gotJob = false;

function colourClass(label) {
  const index = speakers.findIndex((s) => s.label === label);
  return index < 0 ? "spk-unknown" : `spk-${index % PALETTE_SIZE}`;
}

function shownName(label) {
  const found = speakers.find((s) => s.label === label);
  return (found && found.name) || label || "?";
}

function setState(text) { $("#state").textContent = text; }

async function start(event) {
  event.preventDefault();
  $("#start").disabled = true;
  $("#transcript").replaceChildren();
  for (const id of ["#tentative", "#result", "#notice", "#meter"]) $(id).textContent = "";
  speakers = [];
  lastLine = null;
  stopping = false;
  gotJob = false;
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true },
    });
    const context = new AudioContext();
    audio = { context, stream };
    await context.audioWorklet.addModule("/static/live-worklet.js");
    const node = new AudioWorkletNode(context, "saywho-downsampler");
    const mute = context.createGain();
    mute.gain.value = 0;
    context.createMediaStreamSource(stream).connect(node).connect(mute).connect(context.destination);
    await context.resume();
    node.port.onmessage = (e) => {
      if (socket && socket.readyState === WebSocket.OPEN && !stopping) socket.send(e.data);
    };
    connect();
  } catch (error) {
    stopAudio();
    setState(`cannot use the microphone: ${error.message}`);
    $("#start").disabled = false;
  }
}

function options() {
  const chosen = {};
  const language = $("#language").value.trim();
  const count = $("#num-speakers").value.trim();
  if (language) chosen.language = language;
  if (count) chosen.num_speakers = Number(count);
  return chosen;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/v1/live`);
  setState("starting (the models load at the first session)…");
  socket.onmessage = (e) => handle(JSON.parse(e.data));
  let opened = false;
  socket.onopen = () => {
    opened = true;
    socket.send(JSON.stringify({ type: "start", options: options() }));
  };
  socket.onclose = (e) => {
    stopAudio();
    if (!gotJob) setState(closedState(e.reason, opened));
    $("#start").disabled = false;
    $("#stop").disabled = true;
    socket = null;
  };
}

function closedState(reason, opened) {
  if (reason) return `ended: ${reason}`;
  if (!opened) return "could not connect: if this server asks for its API token, sign in on the jobs page first";
  return "the connection closed";
}

function handle(message) {
  if (message.type === "ready") {
    setState("listening…");
    $("#stop").disabled = false;
  } else if (message.type === "update") {
    update(message);
  } else if (message.type === "notice" || message.type === "error") {
    $("#notice").textContent = message.message;
  } else if (message.type === "finishing") {
    setState("finishing: one more pass over the whole recording…");
  } else if (message.type === "job") {
    gotJob = true;
    const link = document.createElement("a");
    link.id = "job-link";
    link.href = message.url;
    link.textContent = "Review the transcript";
    $("#result").replaceChildren(link, " (a job now, with every format)");
    setState("done");
  }
}

function update(message) {
  speakers = message.speakers;
  for (const word of message.committed) addWord(word);
  renderNames();
  $("#tentative").textContent = message.tentative.map((w) => w.text).join(" ");
  const load = message.load === null ? "?" : `${Math.round(100 * message.load)} %`;
  $("#meter").textContent =
    `load ${load} · delay ${message.delay_s.toFixed(1)} s · heard ${Math.round(message.heard_s)} s`;
  $("#notice").textContent = message.notice || "";
}

function addWord(word) {
  const label = word.speaker || "";
  if (!lastLine || lastLine.dataset.speaker !== label) {
    lastLine = document.createElement("p");
    lastLine.className = "line";
    lastLine.dataset.speaker = label;
    const name = document.createElement("button");
    name.type = "button";
    name.className = "speaker-name";
    name.addEventListener("click", () => editName(name, label));
    const words = document.createElement("span");
    words.className = "words";
    lastLine.append(name, words);
    $("#transcript").append(lastLine);
  }
  const words = lastLine.querySelector(".words");
  words.textContent = words.textContent ? `${words.textContent} ${word.text}` : word.text;
}

function renderNames() {
  for (const line of document.querySelectorAll("#transcript .line")) {
    const label = line.dataset.speaker;
    line.className = `line ${colourClass(label)}`;
    const name = line.querySelector(".speaker-name");
    if (name) name.textContent = shownName(label);
  }
}

function editName(button, label) {
  if (!label || !socket) return;
  const input = document.createElement("input");
  input.className = "rename";
  input.value = shownName(label);
  button.replaceWith(input);
  input.focus();
  input.select();
  let finished = false;
  const finish = (save) => {
    if (finished) return;
    finished = true;
    input.replaceWith(button);
    if (!save || !socket) return;
    const name = input.value.trim() || null;
    socket.send(JSON.stringify({ type: "rename", label, name }));
    speakers = speakers.map((s) => (s.label === label ? { ...s, name } : s));
    renderNames();
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") finish(true);
    else if (e.key === "Escape") finish(false);
  });
  input.addEventListener("blur", () => finish(true));
}

function stop() {
  if (!socket) return;
  stopping = true;
  socket.send(JSON.stringify({ type: "stop" }));
  stopAudio();
  $("#stop").disabled = true;
  setState("stopping…");
}

function stopAudio() {
  if (!audio) return;
  for (const track of audio.stream ? audio.stream.getTracks() : []) track.stop();
  audio.context.close();
  audio = null;
}

$("#live-options").addEventListener("submit", start);
$("#stop").addEventListener("click", stop);
