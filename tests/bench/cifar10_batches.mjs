// CIFAR-10 binary batches for training, made from the fixtures' 10,000 test images (sorted by class there,
// 1,000 of each) in the official archive's layout: of each class, the first 800 go to DIR/data_batch_1.bin
// and the last 200 to DIR/test_batch.bin, each file interleaving the classes (0, 1, …, 9, 0, 1, …) as a
// shuffled database would mix them.
// Usage: node tests/bench/cifar10_batches.mjs DIR
import { mkdirSync } from 'node:fs';
import { cifarBatch } from '../e2e/helpers.mjs';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node tests/bench/cifar10_batches.mjs DIR');
mkdirSync(dir, { recursive: true });
const interleaved = (from, to) => Array.from({ length: (to - from) * 10 }, (_, i) => (i % 10) * 1000 + from + Math.floor(i / 10));
console.log(cifarBatch(8000, { order: interleaved(0, 800), dir, name: 'data_batch_1.bin' }));
console.log(cifarBatch(2000, { order: interleaved(800, 1000), dir, name: 'test_batch.bin' }));
