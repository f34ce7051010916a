//! Files of fixed-size "label byte + image" records, no header: CIFAR-10's binary batches ([`super::cifar10`])
//! and the packed MNIST digits ([`super::mnist`]). A [`Format`] names the image shape and the record type;
//! the functions here count and check records, walk them and copy them into a [`Batch`].

use std::fmt;
use std::marker::PhantomData;

use crate::{bail, Result};

/// One record layout: a label byte below [`Format::CLASSES`], then `CHANNELS × SIDE × SIDE` image bytes.
pub trait Format {
    /// The file kind, for messages ("CIFAR-10 batch").
    const NAME: &'static str;
    /// What a record holds, for messages ("1 label byte + 3×32×32 pixels").
    const CONTENTS: &'static str;
    const CHANNELS: usize;
    const SIDE: usize;
    const CLASSES: usize;
    /// Bytes of one image.
    const IMAGE: usize = Self::CHANNELS * Self::SIDE * Self::SIDE;
    /// Bytes of one record: the label and the image.
    const RECORD: usize = 1 + Self::IMAGE;

    /// The format's view of one checked record.
    type Record<'a>;
    fn record(label: u8, image: &[u8]) -> Self::Record<'_>;
}

/// Checks that `len` bytes are a whole number of records and returns how many.
pub fn count<F: Format>(len: usize) -> Result<usize> {
    let (name, record) = (F::NAME, F::RECORD);
    if len == 0 {
        bail!(input, "{name}: the file is empty");
    }
    if !len.is_multiple_of(record) {
        bail!(
            input,
            "{name}: {len} bytes is not a multiple of the record size {record} ({}): {} whole records and {} bytes \
             left over; the file is truncated or not a {name}",
            F::CONTENTS,
            len / record,
            len % record
        );
    }
    Ok(len / record)
}

/// Record number `index` (used in messages) from exactly [`Format::RECORD`] bytes: its label and image.
pub fn split<F: Format>(chunk: &[u8], index: usize) -> Result<(u8, &[u8])> {
    let name = F::NAME;
    if chunk.len() != F::RECORD {
        bail!(input, "{name}: record {index} has {} bytes, not {}", chunk.len(), F::RECORD);
    }
    let label = chunk[0];
    if label as usize >= F::CLASSES {
        bail!(input, "{name}: record {index} has label {label}; labels are 0 to {}", F::CLASSES - 1);
    }
    Ok((label, &chunk[1..]))
}

/// Record number `index` from exactly [`Format::RECORD`] bytes, as the format's record.
pub fn record<F: Format>(chunk: &[u8], index: usize) -> Result<F::Record<'_>> {
    split::<F>(chunk, index).map(|(label, image)| F::record(label, image))
}

/// The labels and images of a whole file in order, without copying. The length is checked first; each
/// label as the iterator reaches it.
pub fn iter<F: Format>(bytes: &[u8]) -> Result<impl Iterator<Item = Result<(u8, &[u8])>> + '_> {
    count::<F>(bytes.len())?;
    Ok(bytes.chunks_exact(F::RECORD).enumerate().map(|(i, c)| split::<F>(c, i)))
}

/// A parsed file: N labels and N images, one after another.
pub struct Batch<F> {
    pub labels: Vec<u8>,
    /// N × [`Format::IMAGE`] bytes.
    pub images: Vec<u8>,
    format: PhantomData<F>,
}

impl<F: Format> Batch<F> {
    /// A batch from its labels and images; panics unless there are [`Format::IMAGE`] bytes per label.
    pub fn new(labels: Vec<u8>, images: Vec<u8>) -> Self {
        assert_eq!(images.len(), labels.len() * F::IMAGE, "{}: {} bytes per image", F::NAME, F::IMAGE);
        Batch { labels, images, format: PhantomData }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The bytes of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * F::IMAGE..(i + 1) * F::IMAGE]
    }

    /// Image `i` as a record.
    pub fn get(&self, i: usize) -> F::Record<'_> {
        F::record(self.labels[i], self.image(i))
    }
}

impl<F> Clone for Batch<F> {
    fn clone(&self) -> Self {
        Batch { labels: self.labels.clone(), images: self.images.clone(), format: PhantomData }
    }
}

impl<F> PartialEq for Batch<F> {
    fn eq(&self, other: &Self) -> bool {
        self.labels == other.labels && self.images == other.images
    }
}

impl<F> Eq for Batch<F> {}

impl<F: Format> fmt::Debug for Batch<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch").field("format", &F::NAME).field("len", &self.labels.len()).finish()
    }
}

/// Checks a whole file (its length, then every label) and copies it into a [`Batch`].
pub fn parse<F: Format>(bytes: &[u8]) -> Result<Batch<F>> {
    let n = count::<F>(bytes.len())?;
    let (mut labels, mut images) = (Vec::with_capacity(n), Vec::with_capacity(n * F::IMAGE));
    for r in iter::<F>(bytes)? {
        let (label, image) = r?;
        labels.push(label);
        images.extend_from_slice(image);
    }
    Ok(Batch::new(labels, images))
}

/// Writes records in the format's layout: each label followed by its image bytes.
pub fn encode<'a, F: Format>(records: impl IntoIterator<Item = (u8, &'a [u8])>) -> Vec<u8> {
    let mut out = Vec::new();
    for (label, image) in records {
        assert_eq!(image.len(), F::IMAGE, "{}: an image is {} bytes", F::NAME, F::IMAGE);
        out.push(label);
        out.extend_from_slice(image);
    }
    out
}
