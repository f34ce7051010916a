//! Image sets in the layouts their publishers ship, and [`Dataset`], labelled images of one shape for a
//! trainer whatever file they came from.

pub mod cifar10;
pub mod mnist;
pub mod records;

use crate::{bail, Result};
use records::{Batch, Format};

/// N images of one shape C×H×W, as bytes (0..255, planes one after another, each row-major), and their
/// labels, each below [`Dataset::classes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    shape: [usize; 3],
    classes: usize,
    labels: Vec<u8>,
    images: Vec<u8>,
}

impl Dataset {
    /// Checks that there are C·H·W image bytes per label and that every label is below `classes`.
    pub fn new(shape: [usize; 3], classes: usize, labels: Vec<u8>, images: Vec<u8>) -> Result<Self> {
        let [c, h, w] = shape;
        let size = c * h * w;
        if size == 0 || images.len() != labels.len() * size {
            bail!(input, "dataset: {} image bytes for {} labels of {c}×{h}×{w} images", images.len(), labels.len());
        }
        if let Some(i) = labels.iter().position(|&l| l as usize >= classes) {
            bail!(input, "dataset: image {i} has label {}; labels are 0 to {}", labels[i], classes.saturating_sub(1));
        }
        Ok(Dataset { shape, classes, labels, images })
    }

    /// A packed MNIST file (`www/data/mnist.bin`): 1×28×28 images, 10 classes, in the file's order (its
    /// first [`mnist::TRAIN_RECORDS`] the training set: [`Dataset::split_at`]).
    pub fn from_mnist(bytes: &[u8]) -> Result<Self> {
        Ok(mnist::parse(bytes)?.into())
    }

    /// CIFAR-10 binary batches (e.g. `data_batch_1.bin` … `data_batch_5.bin`), their records concatenated
    /// in order: 3×32×32 images, 10 classes. An error names the file by its position (from 1).
    pub fn from_cifar10(files: &[&[u8]]) -> Result<Self> {
        if files.is_empty() {
            bail!(input, "dataset: no CIFAR-10 batch file");
        }
        let mut all = cifar10::Batch::new(Vec::new(), Vec::new());
        for (i, bytes) in files.iter().enumerate() {
            let b = cifar10::parse(bytes).map_err(|e| e.context(format!("file {} of {}", i + 1, files.len())))?;
            all.labels.extend_from_slice(&b.labels);
            all.images.extend_from_slice(&b.images);
        }
        Ok(all.into())
    }

    /// `[channels, height, width]` of every image.
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// Labels are `0..classes`.
    pub fn classes(&self) -> usize {
        self.classes
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Image `i`: C·H·W bytes, planes one after another, each row-major.
    pub fn image(&self, i: usize) -> &[u8] {
        let size = self.shape.iter().product::<usize>();
        &self.images[i * size..(i + 1) * size]
    }

    /// The first `n` images and the rest (a packed MNIST file: `split_at(mnist::TRAIN_RECORDS)` gives the
    /// training and test sets). Panics if `n > len()`.
    pub fn split_at(mut self, n: usize) -> (Self, Self) {
        assert!(n <= self.len(), "dataset: split at {n} of {} images", self.len());
        let size = self.shape.iter().product::<usize>();
        let rest = Dataset {
            shape: self.shape,
            classes: self.classes,
            labels: self.labels.split_off(n),
            images: self.images.split_off(n * size),
        };
        (self, rest)
    }
}

impl<F: Format> From<Batch<F>> for Dataset {
    fn from(b: Batch<F>) -> Self {
        Dataset { shape: [F::CHANNELS, F::SIDE, F::SIDE], classes: F::CLASSES, labels: b.labels, images: b.images }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_from_files() {
        let img = |v: u8, n: usize| vec![v; n];
        let (a, b) = (img(7, mnist::IMAGE), img(200, mnist::IMAGE));
        let d = Dataset::from_mnist(&mnist::encode([(3, &a[..]), (9, &b[..])])).unwrap();
        assert_eq!((d.shape(), d.classes(), d.len(), d.labels()), ([1, 28, 28], 10, 2, &[3, 9][..]));
        assert_eq!((d.label(1), d.image(1)), (9, &b[..]));
        let (train, test) = d.split_at(1);
        assert_eq!((train.len(), train.image(0), test.len(), test.label(0), test.image(0)), (1, &a[..], 1, 9, &b[..]));

        let (p, q) = (img(1, cifar10::IMAGE), img(2, cifar10::IMAGE));
        let f1 = cifar10::encode([(0, &p[..]), (5, &q[..])]);
        let f2 = cifar10::encode([(8, &q[..])]);
        let d = Dataset::from_cifar10(&[&f1, &f2]).unwrap();
        assert_eq!((d.shape(), d.len(), d.labels()), ([3, 32, 32], 3, &[0, 5, 8][..]));
        assert_eq!((d.image(0), d.image(2)), (&p[..], &q[..]));
        let e = Dataset::from_cifar10(&[&f1, &f2[..100]]).unwrap_err();
        assert!(e.to_string().contains("file 2 of 2"), "{e}");
        assert!(Dataset::from_cifar10(&[]).is_err());

        assert!(Dataset::new([1, 2, 2], 10, vec![1], vec![0; 4]).is_ok());
        let e = Dataset::new([1, 2, 2], 10, vec![1, 10], vec![0; 8]).unwrap_err();
        assert!(e.message.contains("image 1 has label 10"), "{e}");
        assert!(Dataset::new([1, 2, 2], 10, vec![1], vec![0; 5]).unwrap_err().message.contains("5 image bytes"));
    }
}
