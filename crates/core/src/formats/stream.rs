//! A push-driven protobuf splitter for model files of hundreds of MB. Bytes arrive in chunks; chosen
//! length-delimited fields (tensor data) go straight into 4-byte-aligned payload buffers, and everything else
//! is kept as a small "skeleton" message that prost decodes afterwards. Nothing is held twice.

use crate::{bail, Error, Result};

/// How the splitter treats one message type.
pub struct Level {
    /// Sub-message fields to descend into: (field number, index of their level).
    pub descend: &'static [(u32, usize)],
    /// Length-delimited fields whose bytes become payloads instead of skeleton.
    pub sink: &'static [u32],
    /// Length-delimited fields dropped unread (Caffe's gradients).
    pub skip: &'static [u32],
}

/// The bytes of one sunk field, stored in f32 words so they can become a tensor without a copy.
pub struct Payload {
    pub field: u32,
    pub words: Vec<f32>,
    pub len: usize,
}

impl Payload {
    pub fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.words)[..self.len]
    }

    /// The payload as little-endian f32 values, taking the buffer.
    pub fn into_f32(mut self) -> Result<Vec<f32>> {
        if !self.len.is_multiple_of(4) {
            bail!(format, "{} bytes of float data is not a whole number of floats", self.len);
        }
        self.words.truncate(self.len / 4);
        if cfg!(target_endian = "big") {
            self.words.iter_mut().for_each(|w| *w = f32::from_le_bytes(w.to_ne_bytes()));
        }
        Ok(self.words)
    }
}

/// Called when a sub-message is complete: gets its skeleton and payloads and returns the bytes that stand
/// for it in the parent's skeleton.
pub trait Handler {
    fn message(&mut self, level: usize, skeleton: Vec<u8>, payloads: Vec<Payload>) -> Result<Vec<u8>>;
}

struct Frame {
    level: usize,
    field: u32,
    end: Option<u64>,
    skeleton: Vec<u8>,
    payloads: Vec<Payload>,
}

#[derive(Clone, Copy)]
enum State {
    Header,
    Copy(u64),
    Sink(u64),
    Skip(u64),
}

pub struct Splitter<H> {
    levels: &'static [Level],
    handler: H,
    stack: Vec<Frame>,
    state: State,
    header: Vec<u8>,
    pos: u64,
    total: Option<u64>,
}

fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A complete varint, `None` while more bytes may finish it.
fn varint_or_more(b: &[u8]) -> Result<Option<(u64, usize)>> {
    match varint(b) {
        None if b.len() >= 10 => bail!(format, "a varint runs past 10 bytes"),
        v => Ok(v),
    }
}

/// A field header is complete: (field, wire type, length for wire type 2, header size).
fn parse_header(b: &[u8]) -> Result<Option<(u32, u8, u64, usize)>> {
    let Some((key, n)) = varint_or_more(b)? else { return Ok(None) };
    let (field, wire) = ((key >> 3) as u32, (key & 7) as u8);
    if field == 0 {
        bail!(format, "field number 0");
    }
    match wire {
        0 => Ok(varint_or_more(&b[n..])?.map(|(_, m)| (field, 0, 0, n + m))),
        1 | 5 => Ok(Some((field, wire, 0, n))),
        2 => Ok(varint_or_more(&b[n..])?.map(|(len, m)| (field, 2, len, n + m))),
        w => bail!(format, "wire type {w} in field {field}"),
    }
}

impl<H: Handler> Splitter<H> {
    /// `total`, when known, bounds every declared length before anything is allocated.
    pub fn new(levels: &'static [Level], handler: H, total: Option<u64>) -> Self {
        let root = Frame { level: 0, field: 0, end: total, skeleton: Vec::new(), payloads: Vec::new() };
        Splitter { levels, handler, stack: vec![root], state: State::Header, header: Vec::new(), pos: 0, total }
    }

    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Bytes pushed so far, a partly read field header included.
    pub fn received(&self) -> u64 {
        self.pos + self.header.len() as u64
    }

    pub fn push(&mut self, mut chunk: &[u8]) -> Result<()> {
        while !chunk.is_empty() {
            match self.state {
                State::Copy(left) | State::Sink(left) | State::Skip(left) => {
                    let n = left.min(chunk.len() as u64) as usize;
                    let top = self.stack.last_mut().expect("root frame");
                    let rest = left - n as u64;
                    self.state = match self.state {
                        State::Copy(_) => {
                            top.skeleton.extend_from_slice(&chunk[..n]);
                            State::Copy(rest)
                        }
                        State::Sink(_) => {
                            let p = top.payloads.last_mut().expect("payload started");
                            let at = p.len;
                            bytemuck::cast_slice_mut::<f32, u8>(&mut p.words)[at..at + n].copy_from_slice(&chunk[..n]);
                            p.len += n;
                            State::Sink(rest)
                        }
                        _ => State::Skip(rest),
                    };
                    chunk = &chunk[n..];
                    self.pos += n as u64;
                    if rest == 0 {
                        self.state = State::Header;
                        self.close_frames()?;
                    }
                }
                State::Header => {
                    self.header.push(chunk[0]);
                    chunk = &chunk[1..];
                    let header = parse_header(&self.header).map_err(|e| e.context(format_args!("at byte {}", self.pos)))?;
                    if let Some((field, wire, len, size)) = header {
                        self.pos += size as u64;
                        self.start_field(field, wire, len)?;
                        self.header.clear();
                        if let State::Header = self.state {
                            self.close_frames()?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn start_field(&mut self, field: u32, wire: u8, len: u64) -> Result<()> {
        let top = self.stack.last_mut().expect("root frame");
        let level = &self.levels[top.level];
        if wire == 2 {
            let end = self.pos.checked_add(len).ok_or_else(|| Error::format("a field length overflows"))?;
            match (top.end, self.total) {
                (Some(limit), _) if end > limit && Some(limit) != self.total => bail!(
                    format,
                    "field {field} at byte {} declares {len} bytes, past the end of its message at byte {limit}",
                    self.pos
                ),
                (_, Some(total)) if end > total => bail!(
                    format,
                    "field {field} at byte {} declares {len} bytes, but the file ends at byte {total} (truncated?)",
                    self.pos
                ),
                _ => {}
            }
            if let Some(&(_, child)) = level.descend.iter().find(|(f, _)| *f == field) {
                self.stack.push(Frame { level: child, field, end: Some(end), skeleton: Vec::new(), payloads: vec![] });
                return Ok(());
            }
            if level.skip.contains(&field) {
                self.state = if len == 0 { State::Header } else { State::Skip(len) };
                return Ok(());
            }
            if level.sink.contains(&field) {
                let words = len.div_ceil(4);
                let mut v: Vec<f32> = Vec::new();
                usize::try_from(words).ok().and_then(|w| v.try_reserve_exact(w).ok()).ok_or_else(|| {
                    Error::input(format!("field {field} declares {len} bytes, more memory than there is"))
                })?;
                v.resize(words as usize, 0.0);
                top.payloads.push(Payload { field, words: v, len: 0 });
                self.state = if len == 0 { State::Header } else { State::Sink(len) };
                return Ok(());
            }
        }
        top.skeleton.extend_from_slice(&self.header);
        self.state = match wire {
            1 => State::Copy(8),
            5 => State::Copy(4),
            2 if len > 0 => State::Copy(len),
            _ => State::Header,
        };
        Ok(())
    }

    /// Pops every frame that ends here, handing sub-messages back to their parent's skeleton.
    fn close_frames(&mut self) -> Result<()> {
        if let Some(end) = self.stack.last().and_then(|f| f.end).filter(|&e| self.pos > e) {
            bail!(format, "a field runs past the end of its message at byte {end}");
        }
        while self.stack.len() > 1 && self.stack.last().and_then(|f| f.end) == Some(self.pos) {
            let f = self.stack.pop().expect("checked");
            let bytes = self.handler.message(f.level, f.skeleton, f.payloads)?;
            let parent = self.stack.last_mut().expect("root frame");
            put_varint(&mut parent.skeleton, u64::from(f.field) << 3 | 2);
            put_varint(&mut parent.skeleton, bytes.len() as u64);
            parent.skeleton.extend_from_slice(&bytes);
        }
        Ok(())
    }

    /// The root message's skeleton and the handler, once every byte has arrived.
    pub fn finish(self) -> Result<(Vec<u8>, H)> {
        if self.stack.len() > 1 || !self.header.is_empty() || !matches!(self.state, State::Header) {
            let inside = if self.header.is_empty() { "a message" } else { "a field's header" };
            bail!(format, "the file ends inside {inside} at byte {} (truncated?)", self.received());
        }
        if let Some(total) = self.total.filter(|&t| t != self.pos) {
            bail!(format, "expected {total} bytes but got {}", self.pos);
        }
        let root = self.stack.into_iter().next().expect("root frame");
        Ok((root.skeleton, self.handler))
    }
}
