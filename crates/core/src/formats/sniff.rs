//! Names a file that is plainly not a model file from its first bytes: an image, an archive, a web page.

/// "a PNG image", "a web page (HTML)", …; `None` when the bytes are nothing this knows.
pub fn other_kind(head: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(&head[..head.len().min(64)]).trim_start().to_ascii_lowercase();
    Some(match head {
        [0x89, b'P', b'N', b'G', ..] => "a PNG image",
        [0xFF, 0xD8, 0xFF, ..] => "a JPEG image",
        [b'G', b'I', b'F', b'8', ..] => "a GIF image",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "a WebP image",
        [b'P', b'K', 3, 4, ..] => "a ZIP archive (a PyTorch .pt or .pth checkpoint, a Keras .keras or a .npz?)",
        [0x1F, 0x8B, ..] => "gzip-compressed (unpack it first)",
        [b'%', b'P', b'D', b'F', ..] => "a PDF document",
        [0x80, 2..=5, ..] => "a Python pickle (a PyTorch checkpoint?)",
        [0x93, b'N', b'U', b'M', b'P', b'Y', ..] => "a NumPy .npy array",
        [_, _, _, _, b'T', b'F', b'L', b'3', ..] => "a TensorFlow Lite model",
        _ if text.starts_with("version https://git-lfs") => "a Git LFS pointer, not the file itself",
        _ if text.starts_with("<!doctype html") || text.starts_with("<html") => "a web page (HTML)",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_common_wrong_files_and_nothing_else() {
        assert_eq!(other_kind(b"\x89PNG\r\n\x1a\n\0\0"), Some("a PNG image"));
        assert_eq!(other_kind(b"  <!DOCTYPE html><html>"), Some("a web page (HTML)"));
        assert_eq!(other_kind(b"PK\x03\x04archive/data.pkl"), other_kind(b"PK\x03\x04"));
        // Model files: an ONNX ModelProto (ir_version first), a caffemodel (its name), a prototxt.
        for model in [&b"\x08\x07\x12\x07pytorch"[..], b"\x0a\x05LeNet\xa2\x06", b"name: \"LeNet\"\nlayer {"] {
            assert_eq!(other_kind(model), None);
        }
    }
}
