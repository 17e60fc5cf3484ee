//! Timestamps in the two wire formats the API uses: `Time` (RFC 3339, seconds) for conditions
//! and statuses, `MicroTime` (microseconds) for Lease renewals.

use k8s_openapi::jiff::Timestamp;

pub fn now() -> Timestamp {
    Timestamp::now()
}

pub fn time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn micro_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t: Timestamp = "2025-03-04T05:06:07.123456789Z".parse().unwrap();
        assert_eq!(time(t), "2025-03-04T05:06:07Z");
        assert_eq!(micro_time(t), "2025-03-04T05:06:07.123456Z");
    }
}
