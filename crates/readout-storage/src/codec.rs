//! Raw output is stored compressed: command output is repetitive text that
//! shrinks several times, and it is read rarely (viewer, preview,
//! back-fill) compared with how often it is written. New output is zstd
//! (level 1, a context reused per thread: setting one up per output cost
//! more than compressing it); DEFLATE, written before, is still read.

use std::cell::RefCell;
use std::io::Read as _;

use flate2::read::DeflateDecoder;

use crate::DbError;

pub const RAW: i32 = 0;
pub const DEFLATE: i32 = 1;
pub const ZSTD: i32 = 2;

/// More than an hour of any command's output (agents cap each output).
const MAX_UNPACKED: usize = 512 << 20;

/// Fast and still several times smaller: outputs are written on every cycle.
const LEVEL: i32 = 1;

thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// zstd at `level` with this thread's context (made once: setting one up
/// costs more than compressing a small output).
pub(crate) fn zstd_compress(level: i32, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    COMPRESSOR.with_borrow_mut(|slot| {
        let compressor = match slot {
            Some(c) => c,
            None => slot.insert(zstd::bulk::Compressor::new(level)?),
        };
        compressor.set_compression_level(level)?;
        compressor.compress(bytes)
    })
}

/// Unpacks a zstd frame with this thread's context; `what` names it in
/// errors.
pub(crate) fn zstd_decompress(stored: &[u8], what: &str) -> Result<Vec<u8>, DbError> {
    let corrupt = |e: std::io::Error| DbError::Corrupt(format!("{what} does not unpack: {e}"));
    // The frame says how big it unpacks; one that does not is refused
    // rather than trusted with an unbounded buffer.
    let size = zstd::zstd_safe::get_frame_content_size(stored)
        .ok()
        .flatten()
        .ok_or_else(|| DbError::Corrupt(format!("{what} does not say its size")))?;
    let size = usize::try_from(size)
        .ok()
        .filter(|size| *size <= MAX_UNPACKED)
        .ok_or_else(|| DbError::Corrupt(format!("{what} says it unpacks to {size} bytes")))?;
    DECOMPRESSOR.with_borrow_mut(|slot| {
        let decompressor = match slot {
            Some(d) => d,
            None => slot.insert(zstd::bulk::Decompressor::new().map_err(corrupt)?),
        };
        decompressor.decompress(stored, size).map_err(corrupt)
    })
}

/// The bytes to store and their encoding; small or incompressible output
/// is kept as it is.
pub fn encode(output: &[u8]) -> (Vec<u8>, i32) {
    let packed = zstd_compress(LEVEL, output).ok();
    match packed {
        Some(packed) if packed.len() < output.len() => (packed, ZSTD),
        _ => (output.to_vec(), RAW),
    }
}

pub fn decode(stored: Vec<u8>, encoding: i32) -> Result<Vec<u8>, DbError> {
    let corrupt =
        |e: std::io::Error| DbError::Corrupt(format!("stored output does not unpack: {e}"));
    match encoding {
        RAW => Ok(stored),
        DEFLATE => {
            let mut out = Vec::with_capacity(stored.len() * 4);
            DeflateDecoder::new(&stored[..])
                .read_to_end(&mut out)
                .map_err(corrupt)?;
            Ok(out)
        }
        ZSTD => zstd_decompress(&stored, "stored output"),
        other => Err(DbError::Corrupt(format!("unknown output encoding {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_shrinks_text() {
        let text = "Filesystem 1024-blocks Used Available Capacity Mounted on\n".repeat(40);
        let (packed, encoding) = encode(text.as_bytes());
        assert_eq!(encoding, ZSTD);
        assert!(packed.len() * 5 < text.len(), "{} bytes", packed.len());
        assert_eq!(decode(packed, encoding).expect("decode"), text.as_bytes());
        let (kept, encoding) = encode(b"7");
        assert_eq!((kept.as_slice(), encoding), (&b"7"[..], RAW));
        assert!(decode(vec![1, 2, 3], ZSTD).is_err());
        assert!(decode(vec![1, 2, 3], DEFLATE).is_err());
        // Output stored by earlier releases still reads.
        let mut old = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut old, text.as_bytes()).expect("deflate");
        let old = old.finish().expect("deflate");
        assert_eq!(decode(old, DEFLATE).expect("inflate"), text.as_bytes());
    }
}
