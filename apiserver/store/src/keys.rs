//! Key-range arithmetic shared by both backends: turning a prefix and an optional
//! `start_after` cursor into a half-open byte range `[start, end)`.

/// The smallest byte string greater than every string that starts with `prefix`, or `None`
/// when there is no such bound (empty prefix, or a prefix made only of 0xff bytes).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Inclusive lower bound of a list: the prefix itself, or the first key strictly after
/// `start_after` (appending a NUL byte yields the immediate successor in byte order).
pub(crate) fn range_start(prefix: &str, start_after: Option<&str>) -> Vec<u8> {
    match start_after {
        Some(after) if after.as_bytes() >= prefix.as_bytes() => {
            let mut start = after.as_bytes().to_vec();
            start.push(0);
            start
        }
        _ => prefix.as_bytes().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_last_byte() {
        assert_eq!(
            prefix_end(b"/registry/pods/"),
            Some(b"/registry/pods0".to_vec())
        );
        assert_eq!(prefix_end(b"a\xff\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b""), None);
        assert_eq!(prefix_end(b"\xff"), None);
    }

    #[test]
    fn range_start_skips_cursor() {
        assert_eq!(range_start("/a/", None), b"/a/".to_vec());
        assert_eq!(range_start("/a/", Some("/a/x")), b"/a/x\0".to_vec());
        // A cursor before the prefix must not widen the range.
        assert_eq!(range_start("/b/", Some("/a/x")), b"/b/".to_vec());
    }
}
