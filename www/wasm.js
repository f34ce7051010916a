// Loads the wasm engine: the build with relaxed SIMD (fused multiply-add in the GEMM kernel) where the
// browser validates an instruction of it, else the build with plain SIMD. Both come from
// scripts/build-web.sh.

// A module whose one function computes f32x4.relaxed_madd of three splats.
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // types: () -> v128
  0x03, 0x02, 0x01, 0x00, // one function of type 0
  0x0a, 0x1c, 0x01, 0x1a, 0x00, // code: one body of 26 bytes, no locals
  0x43, 0, 0, 0, 0, 0xfd, 0x13, // f32.const 0, f32x4.splat
  0x43, 0, 0, 0, 0, 0xfd, 0x13,
  0x43, 0, 0, 0, 0, 0xfd, 0x13,
  0xfd, 0x85, 0x02, // f32x4.relaxed_madd
  0x0b, // end
]);

export const relaxedSimd = (() => {
  try {
    return WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
})();

/** The initialised wasm-bindgen module and the name of its build. A worker started with ?build=simd128
 * (or relaxed-simd, where supported) gets that build: benchmarks compare them. */
export async function loadEngine() {
  const asked = new URLSearchParams(self.location.search).get('build');
  const build = asked === 'simd128' || !relaxedSimd ? 'simd128' : 'relaxed-simd';
  const m = await import(build === 'simd128' ? './pkg/zfvis_web.js' : './pkg-relaxed/zfvis_web.js');
  await m.default();
  m.recordPanics(); // a panic's message goes to globalThis.wasmPanic before the trap
  return { ...m, build };
}
