// i2v-live.js: the zoo's generators running in the reader's browser, with no server and no kernel.
//
// A page asks for the widget with  <div class="i2v-live" data-models="affinegan-happy fan-joint"></div>.
// The book's build (book/_ext/i2v_live.py) puts beside this file: onnxruntime-web (ort/), the models
// exported by `i2v export` (models/NAME.onnx), a few benchmark faces (faces/) and manifest.json, which
// lists each model's expressions, size and file. Every move of a slider runs the whole generator once:
// inputs `face` (uint8 S x S x 3) and `intensities` (one float per expression), output `frame` (uint8).
(function () {
  "use strict";
  const HERE = document.currentScript.src.replace(/[^/]*$/, "");   // .../_static/i2v-live/
  let runtime = null;                                                 // onnxruntime-web, loaded once

  // bytes of `url`, reporting (received, total) as they arrive
  async function download(url, progress) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const total = Number(response.headers.get("Content-Length")) || 0;
    if (!response.body || !response.body.getReader) return new Uint8Array(await response.arrayBuffer());
    const reader = response.body.getReader(), parts = [];
    let received = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      received += value.length;
      progress(received, total);
    }
    const out = new Uint8Array(received);
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  function mb(bytes) { return (bytes / 1048576).toFixed(1) + " MB"; }

  // onnxruntime-web, loaded once: its script, then its WebAssembly binary (downloaded here, to show its progress)
  function loadRuntime(progress) {
    runtime = runtime || new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = HERE + "ort/ort.wasm.min.js";
      s.onload = () => resolve(window.ort);
      s.onerror = () => reject(new Error("onnxruntime-web did not load"));
      document.head.appendChild(s);
    }).then(async (ort) => {
      ort.env.wasm.wasmPaths = HERE + "ort/";   // the .mjs and .wasm come from the book, not a CDN
      ort.env.wasm.numThreads = 1;              // static pages are not cross-origin isolated
      ort.env.wasm.wasmBinary = await download(HERE + "ort/ort-wasm-simd-threaded.wasm", progress || (() => {}));
      return ort;
    });
    return runtime;
  }

  function el(tag, attrs, parent) {
    const node = document.createElement(tag);
    Object.assign(node, attrs || {});
    if (parent) parent.appendChild(node);
    return node;
  }

  class Live {
    constructor(root, manifest) {
      this.root = root;
      this.manifest = manifest;
      this.sessions = {};           // model name -> Promise of an InferenceSession
      this.rendered = 0;            // frames drawn so far (tests wait on it)
      this.busy = null;             // the render in flight; a newer request waits for it
      this.pending = false;
      this.awake = false;           // onnxruntime and the model load at the reader's first touch, not with the page
      const names = root.dataset.models.split(/\s+/).filter((n) => n in manifest.models);
      const bar = el("div", { className: "i2v-live-bar" }, root);
      this.picker = el("select", { title: "model", ariaLabel: "model" }, bar);
      for (const n of names) {      // each model's download size, and whether it fails one of the zoo's checks
        const m = manifest.models[n];
        const fails = (m.fails || []).length ? " \u2014 fails a check" : "";
        el("option", { value: n, textContent: `${n} (${mb(m.bytes)})${fails}` }, this.picker);
      }
      this.picker.onchange = () => { this.wake(); this.useModel(this.picker.value); };
      this.play = el("button", { type: "button", textContent: "\u25b6 play" }, bar);
      this.play.onclick = () => { this.wake(); this.playClip(); };
      const upload = el("label", { className: "i2v-live-upload", textContent: "your photo: " }, bar);
      this.file = el("input", { type: "file", accept: "image/*" }, upload);
      this.file.onchange = () => { this.wake(); if (this.file.files[0]) this.usePhoto(this.file.files[0]); };
      this.faces = el("div", { className: "i2v-live-faces" }, root);
      manifest.faces.forEach((f, i) => {
        const img = el("img", { src: HERE + "faces/" + f, alt: "benchmark face " + (i + 1), title: f }, this.faces);
        img.onclick = () => { this.wake(); this.useFace(img); };
      });
      const stage = el("div", { className: "i2v-live-stage" }, root);
      this.input = el("canvas", { className: "i2v-live-input", title: "the face, at the model's size" }, stage);
      this.output = el("canvas", { className: "i2v-live-output", title: "the generated frame" }, stage);
      this.sliders = el("div", { className: "i2v-live-sliders" }, stage);
      this.checks = el("p", { className: "i2v-live-checks" }, root);
      this.status = el("p", { className: "i2v-live-status", textContent: "pick a face, drag a slider or press play: " +
        `the model and onnxruntime-web (${mb(manifest.runtime_bytes || 0)}) load then` }, root);
      el("p", {
        className: "i2v-live-note",
        textContent: "These models were trained on the book's synthetic benchmark only: flat-shaded drawn faces. " +
          "A photo of a real person is centre-cropped and shrunk to the model's size; expect it back nearly " +
          "unchanged at 0 and, as an intensity grows, the benchmark's drawn mouth, teeth and blush pasted over " +
          "it (the quickstart page shows a real photo). Nothing leaves your browser.",
      }, root);
      this.useModel(names[0]).then(() => this.useFace(this.faces.querySelector("img")));
    }

    get model() { return this.manifest.models[this.name]; }

    // The reader's first touch: from now on every change renders (loading onnxruntime and the model once).
    wake() {
      if (!this.awake) { this.awake = true; this.status.textContent = "loading the model ..."; }
    }

    // What is downloading, how much of it has arrived.
    loading(what, received, total) {
      this.status.textContent = `loading ${what}: ${mb(received)}` + (total ? ` of ${mb(total)} ` +
        `(${Math.round((100 * received) / total)} %)` : "");
    }

    session(name) {
      const m = this.manifest.models[name];
      this.sessions[name] = this.sessions[name] || loadRuntime((r, t) => this.loading("onnxruntime-web", r, t))
        .then((ort) => download(HERE + "models/" + m.file, (r, t) => this.loading(name, r, t || m.bytes))
          .then((bytes) => ort.InferenceSession.create(bytes)));
      return this.sessions[name];
    }

    async useModel(name) {
      this.name = name;
      this.picker.value = name;
      const fails = this.model.fails || [];
      this.checks.textContent = fails.length ? `${name} fails the zoo's checks (the Convergence chapter): ` +
        `${fails.join("; ")}. Its frames are shown as they are.` : `${name}: ${this.model.about}`;
      this.sliders.replaceChildren();
      this.values = this.model.expressions.map(() => 0);
      this.model.expressions.forEach((e, k) => {
        const row = el("label", { className: "i2v-live-slider" }, this.sliders);
        el("span", { textContent: e + " " }, row);
        const s = el("input", { type: "range", min: 0, max: 1, step: 0.01, value: 0, name: e }, row);
        const shown = el("output", { textContent: "0.00" }, row);
        s.oninput = () => {
          this.wake(); this.values[k] = Number(s.value); shown.textContent = Number(s.value).toFixed(2); this.render();
        };
      });
      const size = this.model.image_size;
      for (const c of [this.input, this.output]) { c.width = size; c.height = size; }
      if (this.awake) await this.session(name);
      if (this.pixels) { this.drawFace(this.source); }
    }

    useFace(img) {
      if (img.complete) this.drawFace(img); else img.onload = () => this.drawFace(img);
    }

    usePhoto(file) {
      const img = new Image();
      img.onload = () => { this.drawFace(img); URL.revokeObjectURL(img.src); };
      img.src = URL.createObjectURL(file);
    }

    // The face as the model takes it: the largest centred square, resized to S x S, as RGB bytes.
    drawFace(img) {
      this.source = img;
      const size = this.model.image_size, w = img.naturalWidth, h = img.naturalHeight, side = Math.min(w, h);
      const ctx = this.input.getContext("2d", { willReadFrequently: true });
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(img, (w - side) / 2, (h - side) / 2, side, side, 0, 0, size, size);
      const rgba = ctx.getImageData(0, 0, size, size).data;
      this.pixels = new Uint8Array(size * size * 3);
      for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
        this.pixels[j] = rgba[i]; this.pixels[j + 1] = rgba[i + 1]; this.pixels[j + 2] = rgba[i + 2];
      }
      this.render();
    }

    // One frame for the sliders' values; a request made while a frame is in flight is drawn after it.
    render() {
      if (!this.pixels || !this.awake) return Promise.resolve();
      if (this.busy) { this.pending = true; return this.busy; }
      this.busy = this.frame(this.values).then((rgb) => {
        this.draw(rgb);
        this.busy = null;
        if (this.pending) { this.pending = false; return this.render(); }
      }).catch((err) => { this.busy = null; this.status.textContent = "error: " + err.message; });
      return this.busy;
    }

    async frame(values) {
      const session = await this.session(this.name), ort = await loadRuntime(), size = this.model.image_size;
      const start = performance.now();
      const out = await session.run({
        face: new ort.Tensor("uint8", this.pixels, [size, size, 3]),
        intensities: new ort.Tensor("float32", Float32Array.from(values), [values.length]),
      });
      const ms = performance.now() - start;
      this.root.dataset.ms = ms.toFixed(1);
      this.status.textContent = `${this.name}: ${this.model.expressions.map((e, k) =>
        `${e} ${values[k].toFixed(2)}`).join(", ")} \u2014 rendered in your browser in ${ms.toFixed(0)} ms`;
      return out.frame.data;
    }

    draw(rgb) {
      const size = this.model.image_size, ctx = this.output.getContext("2d");
      const image = ctx.createImageData(size, size);
      for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
        image.data[i] = rgb[j]; image.data[i + 1] = rgb[j + 1]; image.data[i + 2] = rgb[j + 2]; image.data[i + 3] = 255;
      }
      ctx.putImageData(image, 0, 0);
      this.rendered += 1;
      this.root.dataset.rendered = String(this.rendered);
    }

    // The clip: 16 frames from a = 0 up to the sliders' mix (the first expression at 1 if all are at 0).
    async playClip() {
      const target = this.values.some((v) => v > 0) ? this.values.slice() : this.values.map((_, k) => (k ? 0 : 1));
      for (let t = 0; t < 16; t++) {
        const start = performance.now();
        this.draw(await this.frame(target.map((v) => (v * t) / 15)));
        await new Promise((r) => setTimeout(r, Math.max(0, 125 - (performance.now() - start))));   // 8 fps
      }
    }
  }

  async function start() {
    const roots = document.querySelectorAll(".i2v-live");
    if (!roots.length) return;
    if (location.protocol === "file:") {     // browsers load no WebAssembly or JSON from file: pages
      roots.forEach((root) => el("p", { className: "i2v-live-note", textContent: "The live model needs the book " +
        "served over HTTP: run  python -m http.server -d _build/html  and open http://localhost:8000." }, root));
      return;
    }
    try {
      const manifest = await (await fetch(HERE + "manifest.json")).json();
      roots.forEach((root) => { root.i2vLive = new Live(root, manifest); });
    } catch (err) {
      roots.forEach((root) => el("p", { className: "i2v-live-status", textContent: "error: " + err.message }, root));
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
