// Module Web Worker that hashes large files (SHA-256) as they stream, off the main thread and without
// holding a whole file in memory. Protocol: {id, blob} in; {id, hex} or {id, error} out.
import { sha256Stream } from './sha256.js';

self.onmessage = async ({ data: { id, blob } }) => {
  try {
    self.postMessage({ id, hex: await sha256Stream(blob) });
  } catch (e) {
    self.postMessage({ id, error: e?.message ?? String(e) });
  }
};
