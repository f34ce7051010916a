// SHA-256 (FIPS 180-4) fed piece by piece, for files too large to hash in one go with crypto.subtle (which
// needs the whole file in memory) and for pages where crypto.subtle is missing (plain http).

// The first 64 primes; the constants are the first 32 bits of the fractional parts of their cube roots
// (K) and of the square roots of the first 8 (the initial hash).
const PRIMES = [];
for (let k = 2; PRIMES.length < 64; k++) if (PRIMES.every((p) => k % p)) PRIMES.push(k);
const frac32 = (x) => Math.floor((x - Math.floor(x)) * 2 ** 32) >>> 0;
const K = Int32Array.from(PRIMES, (p) => frac32(Math.cbrt(p)));
const H0 = Int32Array.from(PRIMES.slice(0, 8), (p) => frac32(Math.sqrt(p)));

const rotr = (x, n) => (x >>> n) | (x << (32 - n));

// Hashes the 64 bytes of `b` from `at` into the state `h`, with `w` as scratch.
function compress(h, w, b, at) {
  for (let t = 0; t < 16; t++) {
    const i = at + 4 * t;
    w[t] = (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];
  }
  for (let t = 16; t < 64; t++) {
    const x = w[t - 15];
    const y = w[t - 2];
    w[t] = (w[t - 16] + (rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3)) | 0) + (w[t - 7] + (rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10)) | 0);
  }
  let a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7]; // eslint-disable-line one-var
  for (let t = 0; t < 64; t++) {
    const t1 = (((hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25))) | 0) + (((e & f) ^ (~e & g)) + K[t] | 0) + w[t]) | 0;
    const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
    hh = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = bb;
    bb = a;
    a = (t1 + t2) | 0;
  }
  h[0] += a; h[1] += bb; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

export class Sha256 {
  #h = H0.slice();
  #w = new Int32Array(64); // 32-bit words kept as int32, the fast kind of number
  #block = new Uint8Array(64);
  #fill = 0;
  #length = 0;

  update(bytes) {
    this.#length += bytes.length;
    let i = 0;
    if (this.#fill) {
      i = Math.min(64 - this.#fill, bytes.length);
      this.#block.set(bytes.subarray(0, i), this.#fill);
      this.#fill += i;
      if (this.#fill < 64) return this;
      compress(this.#h, this.#w, this.#block, 0);
      this.#fill = 0;
    }
    for (; i + 64 <= bytes.length; i += 64) compress(this.#h, this.#w, bytes, i);
    if (i < bytes.length) {
      this.#block.set(bytes.subarray(i));
      this.#fill = bytes.length - i;
    }
    return this;
  }

  // The digest as lower-case hex; the object is spent afterwards.
  hex() {
    const bits = this.#length * 8;
    const tail = new Uint8Array((this.#fill < 56 ? 64 : 128) - this.#fill);
    tail[0] = 0x80;
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, Math.floor(bits / 2 ** 32));
    view.setUint32(tail.length - 4, bits >>> 0);
    this.update(tail);
    return [...this.#h].map((v) => (v >>> 0).toString(16).padStart(8, '0')).join('');
  }
}

// Hashes a Blob chunk by chunk as it streams.
export async function sha256Stream(blob) {
  const hash = new Sha256();
  const reader = blob.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return hash.hex();
    hash.update(value);
  }
}
