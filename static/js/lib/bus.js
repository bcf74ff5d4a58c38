// The one event bus. Every event name is listed in EVENTS; emitting or listening to an unknown
// name throws, so a typo fails loudly instead of silently doing nothing.

export const EVENTS = Object.freeze([
  'image:open', 'image:opened', 'image:closed', 'image:error',
  'plane:set', 'plane:changed',
  'display:set', 'display:changed',
  'viewport:changed',
  'viewer:pointer-move', 'viewer:click',
  'files:browse', 'header:show', 'export:png', 'export:collect', 'hdus:show', 'system:show', 'settings:show',
  'server:event', 'job:progress', 'notify',
  // catalogs, overlay, detection, completeness: add their names here (one line each)
  'catalog:loaded', 'catalog:removed', 'catalog:changed', 'catalog:selected',
  'detection:done', 'completeness:done',
  'crosshair:changed',
  'overlay:show', 'overlay:hide', 'catalog:row-clicked', 'catalog:rows-selected', 'catalog:filter-changed',
  'plotter:show', 'plotter:plotted',
  'segmentation:open', 'segmentation:segment',
  'cubes:axis', 'cubes:spectrum',
  'regions:changed', 'region:spectrum',
  'rgb:shown',
]);

const KNOWN = new Set(EVENTS);

function check(name) {
  if (!KNOWN.has(name)) throw new Error(`unknown bus event "${name}" (add it to EVENTS in lib/bus.js)`);
}

export function createBus() {
  const handlers = new Map();
  const bus = {
    on(name, fn) {
      check(name);
      if (!handlers.has(name)) handlers.set(name, new Set());
      handlers.get(name).add(fn);
      return () => handlers.get(name)?.delete(fn);
    },
    once(name, fn) {
      const off = bus.on(name, (detail) => { off(); fn(detail); });
      return off;
    },
    emit(name, detail = {}) {
      check(name);
      for (const fn of [...(handlers.get(name) || [])]) {
        try {
          fn(detail);
        } catch (err) {
          // One faulty listener must not break the others; report it visibly.
          if (name !== 'notify') bus.emit('notify', { message: `${name}: ${err.message || err}`, level: 'error' });
          else console.warn(err);
        }
      }
    },
  };
  return bus;
}
