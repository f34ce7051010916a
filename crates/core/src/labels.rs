//! Built-in class names.

/// CIFAR-10, in the dataset's label order.
pub const CIFAR10: [&str; 10] =
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

/// A built-in label set that fits a model with `classes` outputs and this name, if one does.
pub fn for_model(net_name: &str, classes: usize) -> Option<&'static [&'static str]> {
    (classes == 10 && net_name.to_ascii_lowercase().contains("cifar")).then_some(&CIFAR10[..])
}
