// Module Web Worker that hashes large files (SHA-256, in wasm) as they stream, off the main thread and
// without holding a whole file in memory. Protocol: {id, blob} in; {id, hex} or {id, error, trap} out (after
// a trap the wasm instance is unusable: link.js starts a new worker).
const wasm = import('./pkg/zfvis_web.js').then(async (m) => {
  await m.default();
  m.recordPanics();
  return m;
});

self.onmessage = async ({ data: { id, blob } }) => {
  try {
    const hash = new (await wasm).Sha256();
    try {
      const chunks = blob.stream().getReader();
      for (;;) {
        const { done, value } = await chunks.read();
        if (done) break;
        hash.update(value);
      }
      self.postMessage({ id, hex: hash.hex() });
    } finally {
      hash.free();
    }
  } catch (e) {
    const trap = e instanceof WebAssembly.RuntimeError;
    self.postMessage({ id, error: trap ? `internal error: ${self.wasmPanic ?? e.message}` : e?.message ?? String(e), trap });
  }
};
