// The example's sample digits: the first test digit of each class in www/data/mnist.bin (records 8000–8009,
// the digits 0–9; scripts/pack-mnist.mjs tells the layout) as 28×28 grey PNG files digit_D.png in the folder
// given. Usage: node scripts/example-digits.mjs DIR
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node scripts/example-digits.mjs DIR');
const RECORD = 785;
const FIRST_TEST = 8000;
const data = readFileSync('www/data/mnist.bin');
for (let i = 0; i < 10; i++) {
  const record = data.subarray((FIRST_TEST + i) * RECORD, (FIRST_TEST + i + 1) * RECORD);
  const png = new PNG({ width: 28, height: 28, colorType: 0, inputColorType: 0 });
  png.data = Buffer.from(record.subarray(1));
  writeFileSync(join(dir, `digit_${record[0]}.png`), PNG.sync.write(png, { colorType: 0, inputColorType: 0 }));
}
