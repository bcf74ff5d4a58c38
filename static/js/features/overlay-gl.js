// Catalog marker renderers: WebGL points (one draw call for a million markers) and a 2-D canvas
// fallback with the same interface. Neither touches OpenSeadragon: the overlay feature hands them
// an affine frame (image pixel -> CSS pixel) on every viewport change.
//
// renderer.setData({ x, y, size, value, count })  Float32Arrays: image px (0-based, y up), radius px,
//                                                  colour value in 0..1 (or -1 = no value)
// renderer.setStyle({ shape, fill, outline, opacity, color, lut, minPx, highlightColor })
// renderer.setHighlight(Uint8Array count)         1 = highlighted marker
// renderer.draw(frame)   frame = { a, b, c, d, e, f, width, height, dpr, scale }:
//                        sx = a*x + c*y + e, sy = b*x + d*y + f (CSS px); scale = CSS px per image px
// renderer.destroy()

import { colorRange, rescaleColors } from './overlay-data.js';

const SHAPES = { circle: 0, square: 1, cross: 2, diamond: 3 };

const VERTEX = `
attribute vec2 a_pos;
attribute float a_size;
attribute float a_val;
attribute float a_hl;
uniform vec3 u_row0;
uniform vec3 u_row1;
uniform float u_scale;
uniform float u_minpx;
uniform float u_maxpx;
varying float v_val;
varying float v_hl;
varying float v_px;
void main() {
  vec3 p = vec3(a_pos, 1.0);
  gl_Position = vec4(dot(u_row0, p), dot(u_row1, p), 0.0, 1.0);
  float r = max(a_size * u_scale, u_minpx) + a_hl * 2.0;
  gl_PointSize = min(2.0 * r + 2.0, u_maxpx);
  v_val = a_val;
  v_hl = a_hl;
  v_px = gl_PointSize;
}`;

const FRAGMENT = `
precision mediump float;
uniform sampler2D u_lut;
uniform vec4 u_color;
uniform vec4 u_hlcolor;
uniform float u_shape;
uniform float u_fill;
uniform float u_outline;
uniform float u_opacity;
uniform float u_dpr;
varying float v_val;
varying float v_hl;
varying float v_px;
void main() {
  vec2 q = (gl_PointCoord - 0.5) * v_px;          // device px from the centre
  float half_px = 0.5 * v_px - 1.0;
  float d;
  if (u_shape < 0.5) d = length(q);
  else if (u_shape < 1.5) d = max(abs(q.x), abs(q.y));
  else if (u_shape < 2.5) d = 0.0;
  else d = abs(q.x) + abs(q.y);
  float w = u_outline * u_dpr * (1.0 + v_hl);
  float inside;
  if (u_shape > 1.5 && u_shape < 2.5) {
    if (max(abs(q.x), abs(q.y)) > half_px || min(abs(q.x), abs(q.y)) > 0.5 * w) discard;
    inside = 1.0;
  } else {
    if (d > half_px) discard;
    inside = d < half_px - w ? 1.0 : 0.0;
    if (inside > 0.5 && u_fill < 0.5) discard;
  }
  vec4 c = u_color;
  if (v_val >= 0.0) c = vec4(texture2D(u_lut, vec2(v_val, 0.5)).rgb, 1.0);
  if (v_hl > 0.5) c = u_hlcolor;
  float alpha = u_opacity * (inside > 0.5 ? 0.35 : 1.0);
  gl_FragColor = vec4(c.rgb * alpha, alpha);
}`;

function compile(gl, type, source) {
  const shader = gl.createShader(type);
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(shader) || 'shader');
  return shader;
}

function hexToRgba(hex) {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex || '');
  const v = m ? parseInt(m[1], 16) : 0x00ff66;
  return [((v >> 16) & 255) / 255, ((v >> 8) & 255) / 255, (v & 255) / 255, 1];
}

// Size a canvas's backing store to the frame in device pixels (CSS size = the frame).
export function sizeCanvas(canvas, frame) {
  const w = Math.max(1, Math.round(frame.width * frame.dpr));
  const h = Math.max(1, Math.round(frame.height * frame.dpr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  canvas.style.width = `${frame.width}px`;
  canvas.style.height = `${frame.height}px`;
}

class GlRenderer {
  constructor(canvas, gl) {
    this.kind = 'webgl';
    this.canvas = canvas;
    this.gl = gl;
    this.count = 0;
    const program = gl.createProgram();
    gl.attachShader(program, compile(gl, gl.VERTEX_SHADER, VERTEX));
    gl.attachShader(program, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT));
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program) || 'link');
    this.program = program;
    this.loc = {};
    for (const name of ['a_pos', 'a_size', 'a_val', 'a_hl']) this.loc[name] = gl.getAttribLocation(program, name);
    for (const name of ['u_row0', 'u_row1', 'u_scale', 'u_minpx', 'u_maxpx', 'u_lut', 'u_color', 'u_hlcolor',
      'u_shape', 'u_fill', 'u_outline', 'u_opacity', 'u_dpr']) this.loc[name] = gl.getUniformLocation(program, name);
    this.buffers = { pos: gl.createBuffer(), size: gl.createBuffer(), val: gl.createBuffer(), hl: gl.createBuffer() };
    this.lut = gl.createTexture();
    this.maxPoint = gl.getParameter(gl.ALIASED_POINT_SIZE_RANGE)[1] || 64;
    this.style = {};
  }

  setData({ x, y, size, value, count }) {
    const gl = this.gl;
    const pos = new Float32Array(count * 2);
    for (let i = 0; i < count; i += 1) {
      pos[2 * i] = x[i];
      pos[2 * i + 1] = y[i];
    }
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.pos);
    gl.bufferData(gl.ARRAY_BUFFER, pos, gl.STATIC_DRAW);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.size);
    gl.bufferData(gl.ARRAY_BUFFER, size, gl.STATIC_DRAW);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.val);
    gl.bufferData(gl.ARRAY_BUFFER, value, gl.STATIC_DRAW);
    this.count = count;
    this.setHighlight(new Uint8Array(count));
  }

  setHighlight(flags) {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.hl);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array(flags), gl.DYNAMIC_DRAW);
  }

  setStyle(style) {
    this.style = style;
    const gl = this.gl;
    const lut = style.lut || new Uint8Array(256 * 4).fill(255);
    gl.bindTexture(gl.TEXTURE_2D, this.lut);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, 256, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, lut);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  }

  attrib(name, buffer, size) {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.enableVertexAttribArray(this.loc[name]);
    gl.vertexAttribPointer(this.loc[name], size, gl.FLOAT, false, 0, 0);
  }

  draw(frame) {
    const gl = this.gl;
    const s = this.style;
    sizeCanvas(this.canvas, frame);
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (!this.count) return;
    gl.useProgram(this.program);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    // image px -> CSS px -> clip space
    const kx = 2 / frame.width;
    const ky = -2 / frame.height;
    gl.uniform3f(this.loc.u_row0, frame.a * kx, frame.c * kx, frame.e * kx - 1);
    gl.uniform3f(this.loc.u_row1, frame.b * ky, frame.d * ky, frame.f * ky + 1);
    gl.uniform1f(this.loc.u_scale, frame.scale * frame.dpr);
    gl.uniform1f(this.loc.u_minpx, (s.minPx ?? 2) * frame.dpr);
    gl.uniform1f(this.loc.u_maxpx, this.maxPoint);
    gl.uniform4fv(this.loc.u_color, hexToRgba(s.color));
    gl.uniform4fv(this.loc.u_hlcolor, hexToRgba(s.highlightColor || '#ff3030'));
    gl.uniform1f(this.loc.u_shape, SHAPES[s.shape] ?? 0);
    gl.uniform1f(this.loc.u_fill, s.fill ? 1 : 0);
    gl.uniform1f(this.loc.u_outline, s.outline ?? 1.5);
    gl.uniform1f(this.loc.u_opacity, s.opacity ?? 1);
    gl.uniform1f(this.loc.u_dpr, frame.dpr);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.lut);
    gl.uniform1i(this.loc.u_lut, 0);
    this.attrib('a_pos', this.buffers.pos, 2);
    this.attrib('a_size', this.buffers.size, 1);
    this.attrib('a_val', this.buffers.val, 1);
    this.attrib('a_hl', this.buffers.hl, 1);
    gl.drawArrays(gl.POINTS, 0, this.count);
  }

  destroy() {
    const gl = this.gl;
    for (const b of Object.values(this.buffers)) gl.deleteBuffer(b);
    gl.deleteTexture(this.lut);
    gl.deleteProgram(this.program);
    this.canvas.remove();
  }
}

class CanvasRenderer {
  constructor(canvas) {
    this.kind = 'canvas';
    this.canvas = canvas;
    this.g = canvas.getContext('2d');
    this.count = 0;
    this.style = {};
    this.data = null;
    this.highlight = new Uint8Array(0);
  }

  setData(data) {
    this.data = data;
    this.count = data.count;
    this.highlight = new Uint8Array(data.count);
  }

  setHighlight(flags) { this.highlight = flags; }

  setStyle(style) { this.style = style; }

  colorOf(i) {
    const s = this.style;
    if (this.highlight[i]) return s.highlightColor || '#ff3030';
    const v = this.data.value[i];
    if (v < 0 || !s.lut) return s.color || '#00ff66';
    const k = Math.min(255, Math.max(0, Math.round(v * 255))) * 4;
    return `rgb(${s.lut[k]},${s.lut[k + 1]},${s.lut[k + 2]})`;
  }

  draw(frame) {
    sizeCanvas(this.canvas, frame);
    const g = this.g;
    g.setTransform(frame.dpr, 0, 0, frame.dpr, 0, 0);
    g.clearRect(0, 0, frame.width, frame.height);
    if (!this.count) return;
    const s = this.style;
    const { x, y, size } = this.data;
    g.globalAlpha = s.opacity ?? 1;
    g.lineWidth = s.outline ?? 1.5;
    for (let i = 0; i < this.count; i += 1) {
      const sx = frame.a * x[i] + frame.c * y[i] + frame.e;
      const sy = frame.b * x[i] + frame.d * y[i] + frame.f;
      const r = Math.max(size[i] * frame.scale, s.minPx ?? 2);
      if (sx < -r || sy < -r || sx > frame.width + r || sy > frame.height + r) continue;
      const color = this.colorOf(i);
      g.strokeStyle = color;
      g.fillStyle = color;
      g.beginPath();
      if (s.shape === 'square') g.rect(sx - r, sy - r, 2 * r, 2 * r);
      else if (s.shape === 'cross') { g.moveTo(sx - r, sy); g.lineTo(sx + r, sy); g.moveTo(sx, sy - r); g.lineTo(sx, sy + r); }
      else if (s.shape === 'diamond') { g.moveTo(sx, sy - r); g.lineTo(sx + r, sy); g.lineTo(sx, sy + r); g.lineTo(sx - r, sy); g.closePath(); }
      else g.arc(sx, sy, r, 0, 2 * Math.PI);
      if (s.fill && s.shape !== 'cross') { g.globalAlpha = (s.opacity ?? 1) * 0.35; g.fill(); g.globalAlpha = s.opacity ?? 1; }
      g.stroke();
    }
  }

  destroy() { this.canvas.remove(); }
}

/** A renderer drawing into a new canvas appended to `container`: WebGL when available, else 2-D. */
export function createRenderer(container, { preferWebgl = true } = {}) {
  const canvas = document.createElement('canvas');
  canvas.className = 'overlay-canvas';
  container.appendChild(canvas);
  if (preferWebgl) {
    const opts = { premultipliedAlpha: true, antialias: false, preserveDrawingBuffer: true };
    const gl = canvas.getContext('webgl', opts) || canvas.getContext('experimental-webgl', opts);
    if (gl) {
      try {
        return new GlRenderer(canvas, gl);
      } catch (err) {
        console.warn('overlay: WebGL unusable, drawing on a 2-D canvas', err);
      }
    }
  }
  const fresh = document.createElement('canvas');
  fresh.className = 'overlay-canvas';
  canvas.replaceWith(fresh);
  return new CanvasRenderer(fresh);
}

/** Draw one overlay layer ({ data, style, lut, selected }) into a PNG export's 2-D context `g`
 * under the export's frame (image px -> export px; frame.uiScale scales the on-screen sizes). */
export function drawForExport(layer, g, frame) {
  const k = frame.uiScale || 1;
  const r = createRenderer(document.createElement('div'), { preferWebgl: false });
  const d = layer.data;
  const [lo, hi] = colorRange(d, layer.style);
  r.setData(d.hasColor && (lo !== d.colorMin || hi !== d.colorMax) ? { ...d, value: rescaleColors(d, lo, hi) } : d);
  r.setStyle({ ...layer.style, lut: d.hasColor ? layer.lut : null, minPx: layer.style.minPx * k, outline: (layer.style.outline ?? 1.5) * k });
  const flags = new Uint8Array(d.count);
  if (layer.selected.size) for (let i = 0; i < d.count; i += 1) if (layer.selected.has(d.rows[i])) flags[i] = 1;
  r.setHighlight(flags);
  r.draw(frame);
  g.drawImage(r.canvas, 0, 0);
  r.destroy();
}
