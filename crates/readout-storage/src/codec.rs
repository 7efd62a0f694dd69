//! Raw output is stored DEFLATE-compressed: command output is repetitive
//! text that shrinks several times, and it is read rarely (viewer,
//! preview, back-fill) compared with how often it is written.

use std::io::{Read as _, Write as _};

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;

use crate::DbError;

pub const RAW: i32 = 0;
pub const DEFLATE: i32 = 1;

/// The bytes to store and their encoding; small or incompressible output
/// is kept as it is.
pub fn encode(output: &[u8]) -> (Vec<u8>, i32) {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::fast());
    // Writing into a Vec cannot fail.
    match encoder.write_all(output).and_then(|()| encoder.finish()) {
        Ok(packed) if packed.len() < output.len() => (packed, DEFLATE),
        _ => (output.to_vec(), RAW),
    }
}

pub fn decode(stored: Vec<u8>, encoding: i32) -> Result<Vec<u8>, DbError> {
    match encoding {
        RAW => Ok(stored),
        DEFLATE => {
            let mut out = Vec::with_capacity(stored.len() * 4);
            DeflateDecoder::new(&stored[..])
                .read_to_end(&mut out)
                .map_err(|e| DbError::Corrupt(format!("stored output does not inflate: {e}")))?;
            Ok(out)
        }
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
        assert_eq!(encoding, DEFLATE);
        assert!(packed.len() * 5 < text.len(), "{} bytes", packed.len());
        assert_eq!(decode(packed, encoding).expect("decode"), text.as_bytes());
        let (kept, encoding) = encode(b"7");
        assert_eq!((kept.as_slice(), encoding), (&b"7"[..], RAW));
        assert!(decode(vec![1, 2, 3], DEFLATE).is_err());
    }
}
