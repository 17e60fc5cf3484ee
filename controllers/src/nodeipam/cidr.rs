//! IPv4 CIDR arithmetic for carving node ranges out of the cluster range.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ipv4Cidr {
    pub base: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Cidr {
    /// The range containing `addr` with host bits cleared.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Ipv4Cidr {
        let prefix = prefix.min(32);
        Ipv4Cidr {
            base: Ipv4Addr::from(u32::from(addr) & mask(prefix)),
            prefix,
        }
    }

    fn first(&self) -> u64 {
        u64::from(u32::from(self.base))
    }

    fn end(&self) -> u64 {
        self.first() + (1u64 << (32 - u32::from(self.prefix)))
    }

    pub fn overlaps(&self, other: &Ipv4Cidr) -> bool {
        self.first() < other.end() && other.first() < self.end()
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (ip, len) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not a CIDR (want a.b.c.d/n)"))?;
        let ip: Ipv4Addr = ip
            .parse()
            .map_err(|e| format!("{s:?}: bad IPv4 address: {e}"))?;
        let len: u8 = len
            .parse()
            .ok()
            .filter(|l| *l <= 32)
            .ok_or_else(|| format!("{s:?}: prefix length must be 0-32"))?;
        Ok(Ipv4Cidr::new(ip, len))
    }
}

/// The lowest `/mask` inside `cluster` that overlaps none of `used`.
pub fn first_free(cluster: Ipv4Cidr, mask: u8, used: &[Ipv4Cidr]) -> Option<Ipv4Cidr> {
    if mask < cluster.prefix || mask > 32 {
        return None;
    }
    let step = 1u64 << (32 - u32::from(mask));
    let mut at = cluster.first();
    while at + step <= cluster.end() {
        let candidate = Ipv4Cidr::new(Ipv4Addr::from(at as u32), mask);
        match used
            .iter()
            .filter(|u| u.overlaps(&candidate))
            .map(|u| u.end())
            .max()
        {
            // Skip past the whole blocking range, rounded up to the next slot.
            Some(end) => at = end.div_ceil(step) * step,
            None => return Some(candidate),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Ipv4Cidr {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_and_normalises() {
        assert_eq!(c("10.244.3.7/16").to_string(), "10.244.0.0/16");
        assert!("10.244.0.0".parse::<Ipv4Cidr>().is_err());
        assert!("10.244.0.0/33".parse::<Ipv4Cidr>().is_err());
    }

    #[test]
    fn hands_out_lowest_free_range() {
        let cluster = c("10.244.0.0/16");
        assert_eq!(first_free(cluster, 24, &[]), Some(c("10.244.0.0/24")));
        let used = [c("10.244.0.0/24"), c("10.244.2.0/24")];
        assert_eq!(first_free(cluster, 24, &used), Some(c("10.244.1.0/24")));
        // A larger foreign range blocks every slot inside it.
        let used = [c("10.244.0.0/23"), c("10.244.2.0/24")];
        assert_eq!(first_free(cluster, 24, &used), Some(c("10.244.3.0/24")));
    }

    #[test]
    fn full_range_has_nothing_left() {
        let cluster = c("10.244.0.0/23");
        let used = [c("10.244.0.0/24"), c("10.244.1.0/24")];
        assert_eq!(first_free(cluster, 24, &used), None);
        assert_eq!(first_free(cluster, 22, &[]), None);
    }
}
