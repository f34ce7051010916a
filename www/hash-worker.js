// Module Web Worker that hashes large files (SHA-256, in wasm) as they stream, off the main thread and
// without holding a whole file in memory. Protocol: {id, blob} in; {id, hex} or {id, error} out.
const wasm = import('./pkg/zfvis_web.js').then(async (m) => { await m.default(); return m; });

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
    self.postMessage({ id, error: e?.message ?? String(e) });
  }
};
