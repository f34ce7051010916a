// An image set for the batch jobs: image files (several, or a folder's), or CIFAR-10 binary batches as the
// official archive ships them (data_batch_*.bin, test_batch.bin). Workers read the images themselves from
// `descriptor()`, shard by shard.

const RECORD = 3073; // a label byte, then 32×32 R, G and B planes
const IMAGE = /\.(jpe?g|png|gif|bmp|webp)$/i;
export const CIFAR10_CLASSES =
  ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

const pathOf = (f) => f.webkitRelativePath || f.name;
const byPath = (a, b) => (pathOf(a) < pathOf(b) ? -1 : pathOf(a) > pathOf(b) ? 1 : 0);

export class ImageSet {
  constructor(kind, files, counts, labels = null) {
    this.kind = kind;       // 'cifar' or 'files'
    this.files = files;
    this.counts = counts;   // images per file
    this.labels = labels;   // Uint8Array of CIFAR-10 labels, one per image
    this.length = counts.reduce((a, b) => a + b, 0);
  }

  /**
   * The set in `files`: CIFAR-10 batches (.bin) or images; other files (a folder's text files, say) are
   * skipped and counted in `skipped`. Throws with a message naming the problem when nothing usable is left.
   */
  static async from(fileList) {
    const all = [...fileList].sort(byPath);
    const bins = all.filter((f) => /\.bin$/i.test(f.name));
    const images = all.filter((f) => IMAGE.test(f.name) || f.type.startsWith('image/'));
    if (bins.length && images.length) throw new Error('give either images or CIFAR-10 .bin batches, not both');
    if (bins.length) {
      for (const f of bins) {
        if (f.size === 0 || f.size % RECORD) {
          throw new Error(`${f.name} is not a CIFAR-10 binary batch: its ${f.size} bytes are not whole `
            + `${RECORD}-byte records (a label byte and 32×32×3 pixels)`);
        }
      }
      const counts = bins.map((f) => f.size / RECORD);
      const set = new ImageSet('cifar', bins, counts, await cifarLabels(bins, counts));
      set.skipped = all.length - bins.length;
      return set;
    }
    if (!images.length) throw new Error(`no images (.jpg .png .gif .bmp .webp) or CIFAR-10 .bin batches among ${all.length} file(s)`);
    const set = new ImageSet('files', images, images.map(() => 1));
    set.skipped = all.length - images.length;
    return set;
  }

  // What workers need to read images start..end (structured-cloneable: Files are handles).
  descriptor() {
    return { kind: this.kind, files: this.files, counts: this.counts };
  }

  // A short name of image i: its file's path, or "test_batch.bin #17".
  name(i) {
    if (this.kind === 'files') return pathOf(this.files[i]);
    const [f, r] = this.#locate(i);
    return `${this.files[f].name} #${r}`;
  }

  // CIFAR-10 class of image i, when the set has labels.
  label(i) {
    return this.labels ? CIFAR10_CLASSES[this.labels[i]] ?? `class ${this.labels[i]}` : null;
  }

  // Consecutive ranges of about `size` images: [{start, end}].
  shards(size) {
    const out = [];
    for (let start = 0; start < this.length; start += size) out.push({ start, end: Math.min(this.length, start + size) });
    return out;
  }

  #locate(i) {
    let f = 0;
    while (i >= this.counts[f]) i -= this.counts[f++];
    return [f, i];
  }
}

// The label byte of every record, read in slices so that a 30 MB batch is never held whole.
async function cifarLabels(files, counts) {
  const labels = new Uint8Array(counts.reduce((a, b) => a + b, 0));
  let at = 0;
  const CHUNK = 1000;
  for (const [i, file] of files.entries()) {
    for (let r = 0; r < counts[i]; r += CHUNK) {
      const n = Math.min(CHUNK, counts[i] - r);
      const bytes = new Uint8Array(await file.slice(r * RECORD, (r + n) * RECORD).arrayBuffer());
      for (let k = 0; k < n; k++) labels[at++] = bytes[k * RECORD];
    }
  }
  return labels;
}
