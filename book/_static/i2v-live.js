// i2v-live.js: the zoo's generators running in the reader's browser, with no server and no kernel.
//
// A page asks for the widget with  <div class="i2v-live" data-models="affinegan-happy fan-joint"></div>.
// The book's build (book/_ext/i2v_live.py) puts beside this file: onnxruntime-web (ort/), the models
// exported by `i2v export` (models/NAME.onnx), a few benchmark faces (faces/) and manifest.json, which
// lists each model's expressions, size, file and what it was trained on. Every move of a slider runs the whole
// generator once: inputs `face` (uint8 S x S x 3) and `intensities` (one float per expression), output `frame`.
// A reader's photo is animated as `i2v generate` animates one (i2vlib/faces/paste.py), with a face box in place of
// the detector, which does not run in the browser: the reader places the square box around the face, the box is
// cut out and resized to S x S, and each frame is pasted back into the photo through a feathered ellipse, its
// colour matched at the seam; every pixel outside the box stays the photo's.
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

  // The pasted face's mask, in units of the box's half side: 1 inside an ellipse of half-axes MASK_W x MASK_H about
  // the box's centre (the face of a box framed as the models' faces are), falling to 0 over MASK_FEATHER beyond it.
  const MASK_W = 0.62, MASK_H = 0.74, MASK_FEATHER = 0.22;

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
      // Their pixels are read back (the photo under the face box; the tests): contexts made for it, once.
      [this.inputCtx, this.outputCtx] = [this.input, this.output].map((c) =>
        c.getContext("2d", { willReadFrequently: true }));
      this.sliders = el("div", { className: "i2v-live-sliders" }, stage);
      this.boxBar = el("label", { className: "i2v-live-box", hidden: true, textContent: "face box: " }, root);
      this.boxSize = el("input", { type: "range", min: 0.1, max: 1, step: 0.01, name: "face-box",
                                   title: "the face box's side, a fraction of the photo's shorter side" }, this.boxBar);
      this.boxSize.oninput = () => { this.wake(); this.moveBox(null, null, Number(this.boxSize.value)); };
      el("span", { textContent: " drag it onto the face, from above the brows to below the chin" }, this.boxBar);
      this.checks = el("p", { className: "i2v-live-checks" }, root);
      this.status = el("p", { className: "i2v-live-status", textContent: "pick a face, drag a slider or press play: " +
        `the model and onnxruntime-web (${mb(manifest.runtime_bytes || 0)}) load then` }, root);
      this.domain = el("p", { className: "i2v-live-domain", hidden: true }, root);
      el("p", {
        className: "i2v-live-note",
        textContent: "Your photo stays in your browser: its face, in the box you place, is animated and pasted back " +
          "(the quickstart notebook does the same in Python, where dlib finds the face).",
      }, root);
      this.dragging = null;
      this.input.onpointerdown = (e) => this.grab(e);
      this.input.onpointermove = (e) => this.drag(e);
      this.input.onpointerup = this.input.onpointercancel = () => { this.dragging = null; };
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
      if (this.awake) await this.session(name);
      if (this.photo) this.sayDomain();
      if (this.source) this.drawFace(this.source); else this.fitCanvases();
    }

    useFace(img) {
      this.photo = null;
      this.boxBar.hidden = true;
      if (img.complete) this.drawFace(img); else img.onload = () => this.drawFace(img);
    }

    usePhoto(file) {
      const img = new Image();
      img.onload = () => {
        const w = img.naturalWidth, h = img.naturalHeight, side = Math.round(0.6 * Math.min(w, h));
        // A first guess, a portrait's: centred, its top a tenth of the way down. The reader moves it onto the face.
        this.photo = { img, box: { x: Math.round((w - side) / 2), y: Math.round(0.1 * h), side }, shown: false };
        this.boxSize.value = String(side / Math.min(w, h));
        this.boxBar.hidden = false;
        this.sayDomain();
        this.drawFace(img);
        URL.revokeObjectURL(img.src);
      };
      img.src = URL.createObjectURL(file);
    }

    // Once a photo is in, one line: what the model was trained on, and what to expect of a real face.
    sayDomain() {
      this.domain.hidden = false;
      this.domain.textContent = `zoo:${this.name} was trained on ${this.model.trained_on}: expect the photo back ` +
        "nearly unchanged at 0 and, as an intensity grows, the benchmark's drawn mouth, teeth and blush painted " +
        "over the face.";
    }

    // The face box, kept square and inside the photo: moved to (x, y) and to a side of `fraction` of the photo's
    // shorter side (null keeps either).
    moveBox(x, y, fraction) {
      const { img, box } = this.photo, w = img.naturalWidth, h = img.naturalHeight;
      const side = fraction == null ? box.side : Math.max(8, Math.round(fraction * Math.min(w, h)));
      const cx = x == null ? box.x + box.side / 2 : x, cy = y == null ? box.y + box.side / 2 : y;
      box.side = Math.min(side, w, h);
      box.x = Math.round(Math.min(Math.max(cx - box.side / 2, 0), w - box.side));
      box.y = Math.round(Math.min(Math.max(cy - box.side / 2, 0), h - box.side));
      this.boxSize.value = String(box.side / Math.min(w, h));
      if (this.pixels) this.drawFace(img);
    }

    // Pointer on the photo: a drag moves the box's centre with the pointer.
    grab(e) {
      if (!this.photo) return;
      this.wake();
      this.dragging = true;
      this.input.setPointerCapture(e.pointerId);
      this.drag(e);
    }

    drag(e) {
      if (!this.dragging) return;
      const r = this.input.getBoundingClientRect(), c = this.input;
      this.moveBox((e.clientX - r.left) * c.width / r.width, (e.clientY - r.top) * c.height / r.height, null);
    }

    // The canvases' sizes: the model's square, or the photo's own size with a photo in.
    fitCanvases() {
      const size = this.model.image_size;
      const w = this.photo ? this.photo.img.naturalWidth : size, h = this.photo ? this.photo.img.naturalHeight : size;
      for (const c of [this.input, this.output]) {
        if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
        c.classList.toggle("i2v-live-photo", !!this.photo);
      }
    }

    // The face as the model takes it, S x S RGB bytes: a benchmark face resized, or the photo's face box cut out.
    // With a photo in, the input canvas shows the photo and its box, the output canvas the photo.
    drawFace(img) {
      this.source = img;
      this.fitCanvases();
      const size = this.model.image_size, crop = document.createElement("canvas");
      crop.width = crop.height = size;
      const cctx = crop.getContext("2d", { willReadFrequently: true });
      cctx.imageSmoothingQuality = "high";
      if (this.photo) {
        const { x, y, side } = this.photo.box, ctx = this.inputCtx;
        cctx.drawImage(img, x, y, side, side, 0, 0, size, size);
        ctx.drawImage(img, 0, 0);
        ctx.lineWidth = Math.max(2, Math.round(img.naturalWidth / 200));
        ctx.strokeStyle = "#ffd400";
        ctx.strokeRect(x, y, side, side);
        if (!this.photo.shown) { this.outputCtx.drawImage(img, 0, 0); this.photo.shown = true; }
      } else {
        const w = img.naturalWidth, h = img.naturalHeight, side = Math.min(w, h);
        cctx.drawImage(img, (w - side) / 2, (h - side) / 2, side, side, 0, 0, size, size);
        this.inputCtx.drawImage(crop, 0, 0);
      }
      const rgba = cctx.getImageData(0, 0, size, size).data;
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
      const size = this.model.image_size, frame = document.createElement("canvas");
      frame.width = frame.height = size;
      const fctx = frame.getContext("2d"), image = fctx.createImageData(size, size);
      for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
        image.data[i] = rgb[j]; image.data[i + 1] = rgb[j + 1]; image.data[i + 2] = rgb[j + 2]; image.data[i + 3] = 255;
      }
      fctx.putImageData(image, 0, 0);
      if (this.photo) this.pasteBack(frame); else this.outputCtx.drawImage(frame, 0, 0);
      this.rendered += 1;
      this.root.dataset.rendered = String(this.rendered);
    }

    // The frame pasted back into the photo (i2vlib.faces.paste's steps): enlarged to the box, shifted in colour by
    // the mean difference photo - frame over the seam (weights 4 m (1 - m) of the mask m), blended through m.
    pasteBack(frame) {
      const { img, box } = this.photo, side = box.side, ctx = this.outputCtx;
      ctx.drawImage(img, 0, 0);
      const big = document.createElement("canvas");
      big.width = big.height = side;
      const bctx = big.getContext("2d", { willReadFrequently: true });
      bctx.imageSmoothingQuality = "high";
      bctx.drawImage(frame, 0, 0, frame.width, frame.height, 0, 0, side, side);
      const f = bctx.getImageData(0, 0, side, side).data, out = ctx.getImageData(box.x, box.y, side, side);
      const p = out.data, m = new Float32Array(side * side), shift = [0, 0, 0];
      let seam = 0;
      for (let y = 0, k = 0; y < side; y++) {
        for (let x = 0; x < side; x++, k++) {
          const u = (x + 0.5) / (side / 2) - 1, v = (y + 0.5) / (side / 2) - 1;
          const r = Math.sqrt((u / MASK_W) ** 2 + (v / MASK_H) ** 2);
          m[k] = Math.min(1, Math.max(0, (1 + MASK_FEATHER - r) / MASK_FEATHER));
          const w = 4 * m[k] * (1 - m[k]);
          seam += w;
          for (let c = 0; c < 3; c++) shift[c] += w * (p[4 * k + c] - f[4 * k + c]);
        }
      }
      for (let c = 0; c < 3; c++) shift[c] = seam > 0 ? shift[c] / seam : 0;
      for (let k = 0; k < side * side; k++) {
        for (let c = 0; c < 3; c++) {
          const face = Math.min(255, Math.max(0, Math.round(f[4 * k + c] + shift[c])));
          p[4 * k + c] = Math.round(m[k] * face + (1 - m[k]) * p[4 * k + c]);
        }
      }
      ctx.putImageData(out, box.x, box.y);
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
