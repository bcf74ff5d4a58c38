// An OpenSeadragon drawer (WebGL2) that colours data tiles on the GPU: each data tile is one
// R32F texture of its physical values (decoded from neloura/core/data_tiles.py's uint16 codes
// when it arrives); a shader applies the limits,
// the stretch table, the colormap palette, invert and the NaN colour, once per tile texel, into
// the tile's colour texture, which every frame then draws like an image tile (hardware bilinear
// when zoomed out, squares when zoomed in, as the canvas drawer draws PNG tiles). A display
// change uploads two small tables and recolours the tiles as they are next drawn: no tile is
// fetched. Tiles that are images (PNG tiles of other layers, e.g. RGB composites) are drawn as
// plain textures.
// Why a drawer rather than OpenSeadragon 6's `tile-invalidated` / `requestInvalidate` routine:
// invalidation re-runs every cached tile's data through JS into a new 2d canvas (or image) that the
// drawer then uploads again; here the tile stays on the GPU and a display change is two small table
// uploads (drawer private cache: internalCacheCreate / internalCacheFree).

const OSD = window.OpenSeadragon;
export const DATA_TYPE = 'neloura-data';
export const DRAWER_TYPE = 'neloura-gl';
const HEADER_BYTES = 40;
const RESTORE_WAIT_MS = 3000; // a lost WebGL context not restored by then: fall back to PNG tiles

const VERTEX = `#version 300 es
in vec2 a_pos;
uniform mat3 u_matrix;
out vec2 v_tex;
void main() {
  v_tex = a_pos;
  vec3 p = u_matrix * vec3(a_pos, 1.0);
  gl_Position = vec4(p.xy, 0.0, 1.0);
}`;

// value -> table entry as the server computes it in float32: (v - vmin) * scale + 0.5, truncated
// after clipping to 0..65535; NaN arrives as NAN_VALUE, +/-inf as +/-INF_VALUE (see decodeDataTile).
// The entry's colour comes from one 256x256 RGBA table (stretch -> palette index -> invert ->
// colour, combined in JS when the display changes): one fetch per texel instead of two.
const DATA_FRAGMENT = `#version 300 es
precision highp float;
precision highp int;
uniform sampler2D u_values;
uniform sampler2D u_lut;
uniform vec2 u_limits;
uniform vec4 u_nan;
out vec4 outColor;
vec4 colourOf(float v) {
  if (v > 2.0e38) return u_nan;
  int i = int(clamp((clamp(v, -1.0e30, 1.0e30) - u_limits.x) * u_limits.y + 0.5, 0.0, 65535.0));
  vec4 c = texelFetch(u_lut, ivec2(i & 255, i >> 8), 0);
  return vec4(c.rgb * c.a, c.a);
}
// drawn into a framebuffer of the tile's size: one fragment per texel
void main() { outColor = colourOf(texelFetch(u_values, ivec2(gl_FragCoord.xy), 0).r); }`;

const IMAGE_FRAGMENT = `#version 300 es
precision highp float;
uniform sampler2D u_image;
in vec2 v_tex;
out vec4 outColor;
void main() { outColor = texture(u_image, v_tex); }`;

const NAN_VALUE = 3.0e38; // larger than any finite float32 value a FITS plane gives in practice
const INF_VALUE = 1.0e38;

/** Parse a data-tile body (after HTTP decompression) into float32 physical values (decoded once
 * here, so that the shader does no sinh per texel and per display change). */
export function decodeDataTile(buffer) {
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  const width = view.getUint16(4, true);
  const height = view.getUint16(6, true);
  if (magic !== 'NLD1' || buffer.byteLength !== HEADER_BYTES + 2 * width * height) throw new Error('not a data tile');
  const n = width * height;
  const planes = new Uint8Array(buffer, HEADER_BYTES);
  const [m, s, u0, du] = [8, 16, 24, 32].map((o) => view.getFloat64(o, true));
  const values = new Float32Array(n);
  for (let i = 0; i < n; i += 1) {
    const code = (planes[i] << 8) | planes[n + i];
    if (code === 65535) values[i] = NAN_VALUE;
    else if (code === 65534) values[i] = INF_VALUE;
    else if (code === 65533) values[i] = -INF_VALUE;
    else values[i] = m + s * Math.sinh(u0 + code * du);
  }
  return { width, height, values };
}

/** The colour of each of the 65,536 table entries: palette[index], index = the stretch table's
 * entry, flipped 0..254 by invert (RGBA, 256x256 texels; `out` reused when given). */
export function combineTables(table, palette, invert, out = null) {
  const lut = out || new Uint8Array(256 * 256 * 4);
  const colours = new Uint32Array(palette.buffer, palette.byteOffset, 256);
  const texels = new Uint32Array(lut.buffer, lut.byteOffset, 256 * 256);
  for (let i = 0; i < 65536; i += 1) {
    const index = table[i];
    texels[i] = colours[invert ? 254 - index : index];
  }
  return lut;
}

// display state per top-level viewer (the navigator's drawer reads its parent's)
const displays = new WeakMap();
let displayVersion = 0;
export function setDrawerDisplay(viewer, state) { displays.set(viewer, { ...state, version: ++displayVersion }); }
const UNIT_TO_CLIP = new Float32Array([2, 0, 0, 0, 2, 0, -1, -1, 1]);

function compile(gl, vertex, fragment) {
  const program = gl.createProgram();
  for (const [type, text] of [[gl.VERTEX_SHADER, vertex], [gl.FRAGMENT_SHADER, fragment]]) {
    const shader = gl.createShader(type);
    gl.shaderSource(shader, text);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(shader));
    gl.attachShader(program, shader);
  }
  gl.bindAttribLocation(program, 0, 'a_pos');
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
  const uniforms = {};
  for (let i = 0; i < gl.getProgramParameter(program, gl.ACTIVE_UNIFORMS); i += 1) {
    const name = gl.getActiveUniform(program, i).name;
    uniforms[name] = gl.getUniformLocation(program, name);
  }
  return { program, uniforms };
}

function texture(gl, filter) {
  const t = gl.createTexture();
  gl.bindTexture(gl.TEXTURE_2D, t);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, filter);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, filter);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  return t;
}

export class DataTileDrawer extends OSD.DrawerBase {
  constructor(options) {
    super(options);
    const gl = this.canvas.getContext('webgl2', { premultipliedAlpha: true, alpha: true, antialias: false, preserveDrawingBuffer: true });
    this.gl = gl;
    this.smooth = true;
    this.stats = { draws: 0, ms: 0, at: 0, coloured: 0, lost: 0, restored: 0 }; // the last draw (tests, benchmark)
    this.lost = false;
    this.generation = 0; // bumped when the context is restored: older GL objects are gone
    this.onContextFailed = null; // called when a lost context is not restored (gl-tiles.js falls back to PNG)
    this._setup();
    // A lost context (GPU reset, driver update, too many contexts): keep the drawer, wait for the
    // browser to restore it (preventDefault asks for that), then rebuild everything on the GPU.
    this._onLost = (event) => {
      event.preventDefault();
      this.lost = true;
      this.stats.lost += 1;
      clearTimeout(this._restoreTimer);
      this._restoreTimer = setTimeout(() => {
        if (this.lost && this.onContextFailed) this.onContextFailed();
      }, RESTORE_WAIT_MS);
    };
    this._onRestored = () => {
      clearTimeout(this._restoreTimer);
      this.lost = false;
      this.generation += 1;
      this._setup();
      this.setInternalCacheNeedsRefresh(); // every tile texture is re-created from its data when next drawn
      this.stats.restored += 1;
      this.viewer.forceRedraw();
    };
    this.canvas.addEventListener('webglcontextlost', this._onLost);
    this.canvas.addEventListener('webglcontextrestored', this._onRestored);
  }

  /** Programs, the quad, the table textures and the framebuffer (again after a restored context). */
  _setup() {
    const gl = this.gl;
    this.dataProgram = compile(gl, VERTEX, DATA_FRAGMENT);
    this.imageProgram = compile(gl, VERTEX, IMAGE_FRAGMENT);
    const quad = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, quad);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1]), gl.STATIC_DRAW);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA); // premultiplied colours
    this.lutTexture = texture(gl, gl.NEAREST);
    this.uploaded = { table: null, palette: null, invert: null };
    this.framebuffer = gl.createFramebuffer();
  }

  get defaultOptions() { return { usePrivateCache: true, preloadCache: false }; }
  getType() { return DRAWER_TYPE; }
  getSupportedDataFormats() { return [DATA_TYPE, 'context2d', 'image']; }
  getRequiredDataFormats() { return [DATA_TYPE, 'context2d', 'image']; }
  canRotate() { return true; } // draw() rotates (and mirrors) about the view centre like OpenSeadragon's drawers

  static isSupported() {
    try {
      const gl = document.createElement('canvas').getContext('webgl2');
      if (!gl) return false;
      compile(gl, VERTEX, DATA_FRAGMENT);
      const lose = gl.getExtension('WEBGL_lose_context');
      if (lose) lose.loseContext();
      return true;
    } catch {
      return false;
    }
  }

  _createDrawingElement() {
    const canvas = OSD.makeNeutralElement('canvas');
    const size = this._calculateCanvasSize();
    canvas.width = size.x;
    canvas.height = size.y;
    return canvas;
  }

  setImageSmoothingEnabled(enabled) {
    if (this.smooth === !!enabled) return;
    this.smooth = !!enabled;
    this.viewer.forceRedraw();
  }

  internalCacheCreate(cache, tile) {
    const gl = this.gl;
    let data = cache.data;
    if (cache.type === DATA_TYPE) {
      const codes = texture(gl, gl.NEAREST);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.R32F, data.width, data.height, 0, gl.RED, gl.FLOAT, data.values);
      const colour = texture(gl, gl.LINEAR);
      gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA8, data.width, data.height);
      return { kind: 'data', codes, texture: colour, width: data.width, height: data.height, version: -1, generation: this.generation };
    }
    if (data && data.canvas && !(data instanceof HTMLCanvasElement)) data = data.canvas; // a 2d context
    const t = texture(gl, gl.LINEAR);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, true);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, data);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    return { kind: 'image', texture: t, tile, generation: this.generation };
  }

  internalCacheFree(data) {
    // textures of a lost (or since restored) context are gone with it: deleting them is an error
    if (!data || !this.gl || this.lost || data.generation !== this.generation) return;
    if (data.texture) this.gl.deleteTexture(data.texture);
    if (data.codes) this.gl.deleteTexture(data.codes);
  }

  _display() {
    let v = this.viewer;
    while (v.viewer) v = v.viewer; // the navigator draws with its parent's display
    return displays.get(v) || null;
  }

  /** Combine the stretch table, palette and invert into the colour table when one changed. */
  _uploadTables(state) {
    const up = this.uploaded;
    if (up.table === state.table && up.palette === state.palette && up.invert === state.invert) return;
    this.lut = combineTables(state.table, state.palette, state.invert, this.lut);
    const gl = this.gl;
    gl.bindTexture(gl.TEXTURE_2D, this.lutTexture);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, 256, 256, 0, gl.RGBA, gl.UNSIGNED_BYTE, this.lut);
    Object.assign(up, { table: state.table, palette: state.palette, invert: state.invert });
  }

  draw(tiledImages) {
    if (this.lost) return; // nothing can be drawn until the context is restored
    const start = performance.now();
    const gl = this.gl;
    const size = this._calculateCanvasSize();
    if (this.canvas.width !== size.x || this.canvas.height !== size.y) {
      this.canvas.width = size.x;
      this.canvas.height = size.y;
    }
    gl.viewport(0, 0, size.x, size.y);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    const bounds = this.viewport.getBoundsNoRotateWithMargins(true);
    // the view as OpenSeadragon's own drawers apply it: about the centre, rotated, then mirrored
    // when flipped (panels rotate and flip viewers to lock images of any orientation and parity)
    const angle = (this.viewport.getRotation(true) * Math.PI) / 180;
    const flip = this.viewport.getFlip() ? -1 : 1;
    const view = {
      fx: (flip * 2) / bounds.width, sy: -2 / bounds.height, c: Math.cos(angle), s: Math.sin(angle),
      cx: bounds.x + bounds.width / 2, cy: bounds.y + bounds.height / 2,
    };
    const state = this._display();
    if (state) this._uploadTables(state);
    let coloured = 0;
    for (const tiledImage of tiledImages) {
      if (tiledImage.getOpacity() === 0) continue;
      for (const { tile } of tiledImage.getTilesToDraw()) {
        const info = this.getDataToDraw(tile);
        if (!info || !info.texture) continue;
        if (info.kind === 'data') {
          if (!state) continue;
          if (info.version !== state.version) { this._colour(info, state, size); coloured += 1; }
        }
        this._drawImage(tile, info, view);
      }
    }
    if (window.__nelouraSyncDraw) gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4)); // benchmark: wait for the GPU
    this.stats.draws += 1;
    this.stats.coloured = coloured;
    this.stats.at = performance.now();
    this.stats.ms = this.stats.at - start;
  }

  /** Unit quad -> clip space for one tile: offset from the view centre, rotated, scaled (and mirrored). */
  _matrix(tile, view) {
    const b = tile.positionedBounds;
    const clip = (dx, dy) => [view.fx * (view.c * dx - view.s * dy), view.sy * (view.s * dx + view.c * dy)];
    const [ux, uy] = clip(b.width, 0);
    const [vx, vy] = clip(0, b.height);
    const [tx, ty] = clip(b.x - view.cx, b.y - view.cy);
    return new Float32Array([ux, uy, 0, vx, vy, 0, tx, ty, 1]);
  }

  /** Colour a data tile's texels into its colour texture with the current display. */
  _colour(info, state, size) {
    const gl = this.gl;
    const { program, uniforms: u } = this.dataProgram;
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.framebuffer);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, info.texture, 0);
    gl.viewport(0, 0, info.width, info.height);
    gl.disable(gl.BLEND);
    const scale = 65535 / (state.vmax - state.vmin);
    gl.useProgram(program);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, info.codes);
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, this.lutTexture);
    gl.uniform1i(u.u_values, 0);
    gl.uniform1i(u.u_lut, 1);
    gl.uniform2f(u.u_limits, state.vmin, scale);
    const [r, g, b, a] = state.nan.map((c) => c / 255);
    gl.uniform4f(u.u_nan, r * a, g * a, b * a, a);
    gl.uniformMatrix3fv(u.u_matrix, false, UNIT_TO_CLIP);
    gl.drawArrays(gl.TRIANGLES, 0, 6);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.viewport(0, 0, size.x, size.y);
    gl.enable(gl.BLEND);
    info.version = state.version;
  }

  _drawImage(tile, info, view) {
    const gl = this.gl;
    const { program, uniforms: u } = this.imageProgram;
    gl.useProgram(program);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, info.texture);
    const filter = this.smooth ? gl.LINEAR : gl.NEAREST;
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, filter);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, filter);
    gl.uniform1i(u.u_image, 0);
    gl.uniformMatrix3fv(u.u_matrix, false, this._matrix(tile, view));
    gl.drawArrays(gl.TRIANGLES, 0, 6);
  }

  destroy() {
    clearTimeout(this._restoreTimer);
    this.canvas.removeEventListener('webglcontextlost', this._onLost);
    this.canvas.removeEventListener('webglcontextrestored', this._onRestored);
    this.destroyInternalCache();
    super.destroy();
    const lose = this.gl && this.gl.getExtension('WEBGL_lose_context');
    if (lose) lose.loseContext();
    this.gl = null;
    if (this.canvas.parentNode) this.canvas.parentNode.removeChild(this.canvas);
  }
}
