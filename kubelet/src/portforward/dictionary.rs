//! The SPDY/3 header-compression dictionary (draft 3, section 2.6.10.1).
//!
//! Both ends prime zlib with these exact 1423 bytes; the sender's zlib header names them by
//! their Adler-32 (`DICTIONARY_ID`), which is what kubectl sends. The bytes are built here
//! from their two parts, so the table reads as words rather than as a hex dump: first HTTP
//! tokens, each preceded by its length as a 32-bit big-endian integer (the shape of a
//! name/value entry in a header block), then one run of plain text.

/// Tokens that appear length-prefixed, in order.
const WORDS: [&str; 65] = [
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
];

/// The text that follows the words, unprefixed. Split only for line length: the pieces are
/// concatenated without separators.
const TAIL: &str = concat!(
    "100101201202205206300302303304305306307",
    "402405406407408409410411412413414415416417",
    "502504505",
    "203 Non-Authoritative Information",
    "204 No Content",
    "301 Moved Permanently",
    "400 Bad Request",
    "401 Unauthorized",
    "403 Forbidden",
    "404 Not Found",
    "500 Internal Server Error",
    "501 Not Implemented",
    "503 Service Unavailable",
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec ",
    "00:00:00 ",
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT",
    "chunked,text/html,image/png,image/jpg,image/gif,",
    "application/xml,application/xhtml+xml,text/plain,text/javascript,",
    "publicprivatemax-age=gzip,deflate,sdch",
    "charset=utf-8charset=iso-8859-1,utf-,*,enq=0.",
);

/// The dictionary's length, fixed by the protocol.
pub const DICTIONARY_LEN: usize = 1423;

/// Adler-32 of the dictionary: the DICTID in the zlib header of every SPDY/3 peer's first
/// header block (kubectl's starts `78 f9 e3 c6 a7 c2`).
pub const DICTIONARY_ID: u32 = 0xe3c6_a7c2;

const fn build() -> [u8; DICTIONARY_LEN] {
    let mut out = [0u8; DICTIONARY_LEN];
    let mut at = 0;
    let mut w = 0;
    while w < WORDS.len() {
        let word = WORDS[w].as_bytes();
        let len = (word.len() as u32).to_be_bytes();
        let mut i = 0;
        while i < 4 {
            out[at] = len[i];
            at += 1;
            i += 1;
        }
        let mut i = 0;
        while i < word.len() {
            out[at] = word[i];
            at += 1;
            i += 1;
        }
        w += 1;
    }
    let tail = TAIL.as_bytes();
    let mut i = 0;
    while i < tail.len() {
        out[at] = tail[i];
        at += 1;
        i += 1;
    }
    // A wrong word list fails the build here instead of every peer's inflate later.
    assert!(
        at == DICTIONARY_LEN,
        "SPDY/3 dictionary has the wrong length"
    );
    out
}

/// The dictionary bytes.
pub static DICTIONARY: [u8; DICTIONARY_LEN] = build();

#[cfg(test)]
mod tests {
    use super::*;

    fn adler32(data: &[u8]) -> u32 {
        let (mut a, mut b) = (1u32, 0u32);
        for &byte in data {
            a = (a + u32::from(byte)) % 65521;
            b = (b + a) % 65521;
        }
        (b << 16) | a
    }

    #[test]
    fn dictionary_matches_the_id_kubectl_sends() {
        assert_eq!(DICTIONARY.len(), 1423);
        assert_eq!(adler32(&DICTIONARY), DICTIONARY_ID);
        assert_eq!(&DICTIONARY[..11], b"\0\0\0\x07options");
        assert!(DICTIONARY.ends_with(b",*,enq=0."));
    }
}
