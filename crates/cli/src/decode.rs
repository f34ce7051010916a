//! Image files to RGBA pixels. JPEGs go through libjpeg-turbo (as in PIL and Chromium), so the pixels
//! equal the references'; other formats through the image crate.

use std::path::Path;
use zfvis_core::{limits, Error, Result};

pub struct Decoded {
    pub rgba: Vec<u8>,
    pub width: usize,
    pub height: usize,
}

pub fn decode(path: &Path) -> Result<Decoded> {
    let bad = |e: &dyn std::fmt::Display| Error::input(format!("{}: cannot decode the image: {e}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| bad(&e))?;
    decode_bytes(&bytes).map_err(|e| bad(&e))
}

/// Decodes an image held in memory; the error says why not (the fuzz target `image` calls this).
pub fn decode_bytes(bytes: &[u8]) -> std::result::Result<Decoded, String> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        let jpeg = std::panic::catch_unwind(|| -> std::io::Result<Decoded> {
            let header = mozjpeg::Decompress::new_mem(bytes)?;
            limits::check_image(header.width() as u64, header.height() as u64).map_err(std::io::Error::other)?;
            let mut img = header.rgba()?;
            let (width, height) = (img.width(), img.height());
            let px: Vec<[u8; 4]> = img.read_scanlines()?;
            img.finish()?;
            Ok(Decoded { rgba: px.into_iter().flatten().collect(), width, height })
        });
        return match jpeg {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err("corrupt JPEG data".to_string()),
        };
    }
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    let (width, height) = reader.into_dimensions().map_err(|e| e.to_string())?;
    limits::check_image(u64::from(width), u64::from(height)).map_err(|e| e.to_string())?;
    let img = image::load_from_memory(bytes).map_err(|e| e.to_string())?.to_rgba8();
    Ok(Decoded { width: img.width() as usize, height: img.height() as usize, rgba: img.into_raw() })
}
