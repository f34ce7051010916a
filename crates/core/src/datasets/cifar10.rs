//! CIFAR-10's binary batches (`data_batch_*.bin`, `test_batch.bin`).
//!
//! The official layout: records of [`RECORD`] = 3073 bytes, one after another, no header. Each record is
//! a label byte (0–9, the order of [`crate::labels::CIFAR10`]) and then the 32×32 image as three planes
//! of 1024 bytes, R, G then B, each row-major. An official file holds 10,000 records.
//!
//! [`parse`] checks a whole file and copies it into a [`Batch`]; [`records()`] walks a file without copying;
//! [`record`] reads one record from a 3073-byte chunk, for readers that stream a file piece by piece.

use super::records::{self, Format};
use crate::Result;

/// Image side in pixels.
pub const SIDE: usize = 32;
/// Pixels per plane (32 × 32).
pub const PLANE: usize = SIDE * SIDE;
/// Bytes of one image: three planes.
pub const IMAGE: usize = 3 * PLANE;
/// Bytes of one record: the label and the image.
pub const RECORD: usize = 1 + IMAGE;
/// Number of classes.
pub const CLASSES: usize = 10;

/// One record, borrowing its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub label: u8,
    /// 3072 bytes: the R, G and B planes, each 32×32 row-major.
    pub planes: &'a [u8],
}

impl Record<'_> {
    /// The label's class name ("airplane" … "truck").
    pub fn class_name(&self) -> &'static str {
        crate::labels::CIFAR10[self.label as usize]
    }

    /// The image as 3×32×32 floats in 0..255, planes R, G, B.
    pub fn chw(&self) -> Vec<f32> {
        self.planes.iter().map(|&b| b as f32).collect()
    }

    /// The image as 32×32 RGBA pixels (alpha 255), row-major.
    pub fn rgba(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PLANE * 4);
        for i in 0..PLANE {
            out.extend_from_slice(&[self.planes[i], self.planes[PLANE + i], self.planes[2 * PLANE + i], 255]);
        }
        out
    }
}

/// The CIFAR-10 binary layout, for [`super::records`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cifar10;

impl Format for Cifar10 {
    const NAME: &'static str = "CIFAR-10 batch";
    const CONTENTS: &'static str = "1 label byte + 3×32×32 pixels";
    const CHANNELS: usize = 3;
    const SIDE: usize = SIDE;
    const CLASSES: usize = CLASSES;
    type Record<'a> = Record<'a>;
    fn record(label: u8, planes: &[u8]) -> Record<'_> {
        Record { label, planes }
    }
}
const _: () = assert!(Cifar10::IMAGE == IMAGE && Cifar10::RECORD == RECORD);

/// A parsed batch file: `labels`, and `images` (N × 3 × 32 × 32 bytes, planes R, G, B).
pub type Batch = records::Batch<Cifar10>;

/// Checks that `len` bytes are a whole number of records and returns how many.
pub fn count(len: usize) -> Result<usize> {
    records::count::<Cifar10>(len)
}

/// Reads record number `index` (used in messages) from exactly [`RECORD`] bytes.
pub fn record(chunk: &[u8], index: usize) -> Result<Record<'_>> {
    records::record::<Cifar10>(chunk, index)
}

/// The records of a whole file in order, without copying. The length is checked first; each label as the
/// iterator reaches it.
pub fn records(bytes: &[u8]) -> Result<impl Iterator<Item = Result<Record<'_>>> + '_> {
    Ok(records::iter::<Cifar10>(bytes)?.map(|r| r.map(|(label, planes)| Record { label, planes })))
}

/// Checks a whole file (its length, then every label) and copies it into a [`Batch`].
pub fn parse(bytes: &[u8]) -> Result<Batch> {
    records::parse(bytes)
}

/// Writes records in the official layout: each label followed by its 3072 plane bytes (R, G, B).
pub fn encode<'a>(records: impl IntoIterator<Item = (u8, &'a [u8])>) -> Vec<u8> {
    records::encode::<Cifar10>(records)
}
