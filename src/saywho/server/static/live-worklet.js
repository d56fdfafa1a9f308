// The microphone's samples, mixed to mono and brought down to 16 kHz (each output sample is
// the mean of the input samples it covers: a box filter against aliasing, enough for speech),
// posted to the page 0.1 s at a time.
"use strict";

const RATE = 16000;
const CHUNK = 1600;

class Downsampler extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / RATE; // input samples per output sample
    this.position = 0; // input samples into the current output sample
    this.sum = 0;
    this.count = 0;
    this.out = new Float32Array(CHUNK);
    this.filled = 0;
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true;
    const length = channels[0].length;
    for (let i = 0; i < length; i++) {
      let value = 0;
      for (const channel of channels) value += channel[i];
      this.sum += value / channels.length;
      this.count += 1;
      this.position += 1;
      if (this.position >= this.step) {
        this.position -= this.step;
        this.out[this.filled++] = this.sum / this.count;
        this.sum = 0;
        this.count = 0;
        if (this.filled === CHUNK) {
          this.port.postMessage(this.out.buffer, [this.out.buffer]);
          this.out = new Float32Array(CHUNK);
          this.filled = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("saywho-downsampler", Downsampler);
