//! Fake addressing for the fleet: each node's InternalIP and pod CIDR (pure functions of the
//! node index, so a restarted fleet computes the same ones) and the per-node pod IP pool.
//!
//! Scheme:
//! - node `i` has InternalIP `10.16.0.0 + (i + 1)`, i.e. inside 10.16.0.0/16 (10.16.0.1 first);
//! - node `i` has podCIDR `10.(64 + i / 256).(i % 256).0/24`, which stays unique up to
//!   `MAX_NODES` (second octet 64..=255) and never overlaps the node addresses;
//! - pod IPs are `.2`–`.254` of the node's /24 (`.1` is left for the node's bridge, as a CNI
//!   would), handed out round-robin so a freed address is reused as late as possible.

use std::net::Ipv4Addr;

/// Nodes the pod CIDR scheme can address.
pub const MAX_NODES: usize = 192 * 256;
/// Pod addresses in one node's /24.
pub const POD_IPS_PER_NODE: u32 = 253;
const FIRST_POD_HOST: u32 = 2;

pub fn node_internal_ip(i: usize) -> Ipv4Addr {
    let base = u32::from(Ipv4Addr::new(10, 16, 0, 0));
    Ipv4Addr::from(base.wrapping_add(i as u32).wrapping_add(1))
}

/// The network address of node `i`'s /24.
pub fn pod_cidr_base(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 64 + (i / 256) as u8, (i % 256) as u8, 0)
}

pub fn pod_cidr(i: usize) -> String {
    format!("{}/24", pod_cidr_base(i))
}

/// The pod addresses of one node.
#[derive(Debug)]
pub(crate) struct IpPool {
    base: u32,
    used: [u64; 4],
    /// Where the next search starts: one past the last address handed out.
    cursor: u32,
}

impl IpPool {
    pub fn new(cidr_base: Ipv4Addr) -> Self {
        IpPool {
            base: u32::from(cidr_base),
            used: [0; 4],
            cursor: 0,
        }
    }

    fn slot(&self, ip: Ipv4Addr) -> Option<u32> {
        let off = u32::from(ip).checked_sub(self.base)?;
        let slot = off.checked_sub(FIRST_POD_HOST)?;
        (slot < POD_IPS_PER_NODE).then_some(slot)
    }

    fn is_used(&self, slot: u32) -> bool {
        self.used[(slot / 64) as usize] & (1 << (slot % 64)) != 0
    }

    fn set(&mut self, slot: u32, on: bool) {
        let word = &mut self.used[(slot / 64) as usize];
        if on {
            *word |= 1 << (slot % 64);
        } else {
            *word &= !(1 << (slot % 64));
        }
    }

    /// The next free address, or `None` when all are taken.
    pub fn allocate(&mut self) -> Option<Ipv4Addr> {
        for step in 0..POD_IPS_PER_NODE {
            let slot = (self.cursor + step) % POD_IPS_PER_NODE;
            if !self.is_used(slot) {
                self.set(slot, true);
                self.cursor = (slot + 1) % POD_IPS_PER_NODE;
                return Some(Ipv4Addr::from(self.base + FIRST_POD_HOST + slot));
            }
        }
        None
    }

    /// Marks an address found on an existing pod as taken; false when it is outside the pool
    /// or already taken (then the pod must get a new one).
    pub fn reserve(&mut self, ip: Ipv4Addr) -> bool {
        match self.slot(ip) {
            Some(slot) if !self.is_used(slot) => {
                self.set(slot, true);
                true
            }
            _ => false,
        }
    }

    pub fn release(&mut self, ip: Ipv4Addr) {
        if let Some(slot) = self.slot(ip)
            && self.is_used(slot)
        {
            self.set(slot, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn addresses_are_unique_across_the_fleet() {
        let mut cidrs = HashSet::new();
        let mut nodes = HashSet::new();
        for i in 0..MAX_NODES {
            assert!(cidrs.insert(pod_cidr_base(i)));
            assert!(nodes.insert(node_internal_ip(i)));
        }
        assert_eq!(pod_cidr(0), "10.64.0.0/24");
        assert_eq!(pod_cidr(257), "10.65.1.0/24");
        assert_eq!(pod_cidr(MAX_NODES - 1), "10.255.255.0/24");
        assert_eq!(node_internal_ip(0), Ipv4Addr::new(10, 16, 0, 1));
        assert_eq!(
            node_internal_ip(MAX_NODES - 1),
            Ipv4Addr::new(10, 16, 192, 0)
        );
    }

    #[test]
    fn pool_hands_out_every_address_once_and_reuses_late() {
        let mut p = IpPool::new(pod_cidr_base(3));
        let first = p.allocate().unwrap();
        assert_eq!(first, Ipv4Addr::new(10, 64, 3, 2));
        let mut seen = HashSet::from([first]);
        while let Some(ip) = p.allocate() {
            assert!(seen.insert(ip));
        }
        assert_eq!(seen.len(), POD_IPS_PER_NODE as usize);
        assert!(seen.contains(&Ipv4Addr::new(10, 64, 3, 254)));
        p.release(first);
        assert_eq!(p.allocate(), Some(first));

        let mut p = IpPool::new(pod_cidr_base(3));
        assert!(p.reserve(Ipv4Addr::new(10, 64, 3, 2)));
        assert!(!p.reserve(Ipv4Addr::new(10, 64, 3, 2)));
        assert!(!p.reserve(Ipv4Addr::new(10, 64, 4, 2)));
        assert!(!p.reserve(Ipv4Addr::new(10, 64, 3, 1)));
        assert_eq!(p.allocate(), Some(Ipv4Addr::new(10, 64, 3, 3)));
        p.release(Ipv4Addr::new(10, 64, 3, 3));
        // Round-robin: the freed address is not the next one handed out.
        assert_eq!(p.allocate(), Some(Ipv4Addr::new(10, 64, 3, 4)));
    }
}
