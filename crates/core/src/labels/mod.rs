//! Built-in class names.

/// CIFAR-10, in the dataset's label order.
pub const CIFAR10: [&str; 10] =
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

/// ILSVRC-2012's 1000 classes, Caffe's order, as `synset_words.txt` lines.
pub const IMAGENET_SYNSET_WORDS: &str = include_str!("imagenet_synset_words.txt");

/// A built-in label set that fits a model with `classes` outputs and this name, if one does: CIFAR-10 for
/// 10-class nets named like CIFAR, ImageNet for 1000-class nets.
pub fn for_model(net_name: &str, classes: usize) -> Option<Vec<String>> {
    match classes {
        10 if net_name.to_ascii_lowercase().contains("cifar") => Some(CIFAR10.iter().map(|s| s.to_string()).collect()),
        1000 => Some(parse(IMAGENET_SYNSET_WORDS)),
        _ => None,
    }
}

/// Class names from a labels file: one per line, in class order. Caffe's synset_words.txt lines
/// ("n01440764 tench, Tinca tinca") lose their WordNet id. Blank lines at the end are ignored.
pub fn parse(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .lines()
        .map(|l| {
            let l = l.trim();
            match l.split_once(' ') {
                Some((id, rest))
                    if id.len() == 9 && id.starts_with('n') && id[1..].bytes().all(|b| b.is_ascii_digit()) =>
                {
                    rest.trim().to_string()
                }
                _ => l.to_string(),
            }
        })
        .collect();
    while names.last().is_some_and(|n| n.is_empty()) {
        names.pop();
    }
    names
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_plain_and_synset_files() {
        assert_eq!(super::parse("cat\ndog\n\n"), ["cat", "dog"]);
        assert_eq!(
            super::parse("n01440764 tench, Tinca tinca\nn01443537 goldfish\n"),
            ["tench, Tinca tinca", "goldfish"]
        );
    }
}
