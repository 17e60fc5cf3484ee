//! SPDY/3 header blocks: a count and length-prefixed name/value pairs, zlib-compressed with
//! the SPDY dictionary. Each direction of a session has one compression context that lives
//! as long as the session; every block ends with a sync flush so the peer can decode it
//! without waiting for more input.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::dictionary::{DICTIONARY, DICTIONARY_ID};
use super::error::SpdyError;

/// Decoded header blocks larger than this are refused: kubectl's are about fifty bytes, and
/// a small compressed block can expand a thousandfold.
pub const MAX_DECODED_BLOCK: usize = 64 * 1024;
/// Pairs in one block; a block claiming more is malformed for our purposes.
const MAX_PAIRS: u32 = 256;

/// Name/value pairs in arrival order. Names are lowercase on the wire (the spec requires it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    pub fn new() -> Self {
        Headers(Vec::new())
    }

    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.0.push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    /// The first value of `name` (multiple values are NUL-separated in one entry).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split('\0').next().unwrap_or(v.as_str()))
    }

    /// The uncompressed wire form.
    pub fn to_block(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.0.len() * 24);
        out.extend_from_slice(&(self.0.len() as u32).to_be_bytes());
        for (name, value) in &self.0 {
            out.extend_from_slice(&(name.len() as u32).to_be_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(value.len() as u32).to_be_bytes());
            out.extend_from_slice(value.as_bytes());
        }
        out
    }

    /// Parses the uncompressed wire form.
    pub fn from_block(block: &[u8]) -> Result<Self, SpdyError> {
        let mut rest = block;
        let count = take_u32(&mut rest)?;
        if count > MAX_PAIRS {
            return Err(SpdyError::Protocol(format!(
                "header block has {count} pairs"
            )));
        }
        let mut pairs = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let name = take_string(&mut rest)?;
            if name.is_empty() {
                return Err(SpdyError::Protocol("empty header name".into()));
            }
            let value = take_string(&mut rest)?;
            pairs.push((name.to_ascii_lowercase(), value));
        }
        Ok(Headers(pairs))
    }
}

fn take_u32(rest: &mut &[u8]) -> Result<u32, SpdyError> {
    let Some((head, tail)) = rest.split_first_chunk::<4>() else {
        return Err(SpdyError::Protocol("truncated header block".into()));
    };
    *rest = tail;
    Ok(u32::from_be_bytes(*head))
}

fn take_string(rest: &mut &[u8]) -> Result<String, SpdyError> {
    let len = take_u32(rest)? as usize;
    if len > rest.len() {
        return Err(SpdyError::Protocol("truncated header block".into()));
    }
    let (raw, tail) = rest.split_at(len);
    *rest = tail;
    String::from_utf8(raw.to_vec())
        .map_err(|_| SpdyError::Protocol("header is not valid UTF-8".into()))
}

/// Compresses outgoing header blocks (one per session direction).
pub struct HeaderEncoder {
    z: Compress,
}

impl HeaderEncoder {
    pub fn new() -> Result<Self, SpdyError> {
        let mut z = Compress::new(Compression::default(), true);
        let id = z
            .set_dictionary(&DICTIONARY)
            .map_err(|e| SpdyError::Compression(e.to_string()))?;
        if id != DICTIONARY_ID {
            return Err(SpdyError::Compression(format!(
                "dictionary id {id:#x} is not SPDY/3's"
            )));
        }
        Ok(HeaderEncoder { z })
    }

    pub fn encode(&mut self, headers: &Headers) -> Result<Vec<u8>, SpdyError> {
        let block = headers.to_block();
        let mut out = Vec::with_capacity(block.len() + 64);
        let mut consumed = 0usize;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(256);
            }
            let before = self.z.total_in();
            let status = self
                .z
                .compress_vec(&block[consumed..], &mut out, FlushCompress::Sync)
                .map_err(|e| SpdyError::Compression(e.to_string()))?;
            consumed += (self.z.total_in() - before) as usize;
            // Done once all input is in and zlib left room unused: the flush is complete.
            if consumed == block.len() && out.len() < out.capacity() {
                break;
            }
            if status == Status::BufError && out.len() < out.capacity() {
                break;
            }
        }
        Ok(out)
    }
}

/// Decompresses incoming header blocks (one per session direction).
pub struct HeaderDecoder {
    z: Decompress,
}

impl Default for HeaderDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl HeaderDecoder {
    pub fn new() -> Self {
        HeaderDecoder {
            z: Decompress::new(true),
        }
    }

    pub fn decode(&mut self, compressed: &[u8]) -> Result<Headers, SpdyError> {
        let block = self.inflate(compressed)?;
        Headers::from_block(&block)
    }

    fn inflate(&mut self, input: &[u8]) -> Result<Vec<u8>, SpdyError> {
        let mut out: Vec<u8> = Vec::with_capacity(512);
        let mut consumed = 0usize;
        loop {
            if out.len() == out.capacity() {
                if out.len() >= MAX_DECODED_BLOCK {
                    return Err(SpdyError::Protocol(format!(
                        "header block expands past {MAX_DECODED_BLOCK} bytes"
                    )));
                }
                out.reserve(1024.min(MAX_DECODED_BLOCK - out.len()));
            }
            let (in_before, out_before) = (self.z.total_in(), out.len());
            let result = self
                .z
                .decompress_vec(&input[consumed..], &mut out, FlushDecompress::Sync);
            consumed += (self.z.total_in() - in_before) as usize;
            match result {
                Ok(_) => {}
                // The zlib header names the dictionary; it can only be supplied once asked.
                Err(e) => match e.needs_dictionary() {
                    Some(DICTIONARY_ID) => {
                        self.z
                            .set_dictionary(&DICTIONARY)
                            .map_err(|e| SpdyError::Compression(e.to_string()))?;
                        continue;
                    }
                    Some(other) => {
                        return Err(SpdyError::Compression(format!(
                            "peer compresses with unknown dictionary {other:#x}"
                        )));
                    }
                    None => return Err(SpdyError::Compression(e.to_string())),
                },
            }
            let progressed = self.z.total_in() != in_before || out.len() != out_before;
            if consumed == input.len() && out.len() < out.capacity() {
                return Ok(out);
            }
            if !progressed && out.len() < out.capacity() {
                return Err(SpdyError::Compression(
                    "header block is not a complete zlib sync-flushed chunk".into(),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Headers {
        Headers::new()
            .with("streamType", "data")
            .with("port", "8080")
            .with("requestID", "7")
    }

    #[test]
    fn block_round_trip_lowercases_names() {
        let block = sample().to_block();
        let parsed = Headers::from_block(&block).expect("parse");
        assert_eq!(parsed.get("streamtype"), Some("data"));
        assert_eq!(parsed.get("PORT"), Some("8080"));
        assert_eq!(parsed.0[2].0, "requestid");
    }

    #[test]
    fn compressed_blocks_share_one_context_per_direction() {
        let mut enc = HeaderEncoder::new().expect("encoder");
        let mut dec = HeaderDecoder::new();
        let first = enc.encode(&sample()).expect("encode");
        // zlib header with FDICT and the SPDY dictionary's id, as kubectl sends.
        assert_eq!(first[0], 0x78);
        assert_eq!(first[1] & 0x20, 0x20, "FDICT flag set");
        assert_eq!(first[2..6], DICTIONARY_ID.to_be_bytes());
        assert!(first.ends_with(&[0, 0, 0xff, 0xff]), "sync flush marker");
        assert_eq!(dec.decode(&first).expect("decode"), sample());
        // The second block refers back into the first: only the shared context decodes it.
        let second = enc.encode(&sample()).expect("encode");
        assert!(second.len() < first.len());
        assert_eq!(dec.decode(&second).expect("decode"), sample());
        let empty = enc.encode(&Headers::new()).expect("encode");
        assert_eq!(dec.decode(&empty).expect("decode"), Headers::new());
    }

    #[test]
    fn malformed_blocks_are_errors() {
        assert!(Headers::from_block(&[0, 0, 0, 1, 0, 0, 0, 9, b'a']).is_err());
        assert!(Headers::from_block(&[0, 0, 1]).is_err());
        assert!(HeaderDecoder::new().decode(b"not zlib at all").is_err());
    }
}
