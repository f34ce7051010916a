//! Image sets in the layouts their publishers ship.

pub mod cifar10;
pub mod records;
