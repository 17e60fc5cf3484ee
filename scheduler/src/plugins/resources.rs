//! NodeResourcesFit (filter), LeastAllocated and BalancedAllocation (scores).

use crate::model::{NodeInfo, PodInfo, non_zero};

/// Reasons the pod does not fit, in kube-scheduler's words ("Insufficient cpu", "Too many pods").
pub fn fit(pod: &PodInfo, node: &NodeInfo) -> Vec<String> {
    let mut reasons = Vec::new();
    let alloc = &node.allocatable;
    let used = &node.requested;
    if used.pods + 1 > alloc.pods {
        reasons.push("Too many pods".to_string());
    }
    let req = &pod.requests;
    if req.cpu > 0 && used.cpu + req.cpu > alloc.cpu {
        reasons.push("Insufficient cpu".into());
    }
    if req.memory > 0 && used.memory + req.memory > alloc.memory {
        reasons.push("Insufficient memory".into());
    }
    if req.ephemeral_storage > 0
        && used.ephemeral_storage + req.ephemeral_storage > alloc.ephemeral_storage
    {
        reasons.push("Insufficient ephemeral-storage".into());
    }
    for (name, want) in &req.scalar {
        if *want == 0 {
            continue;
        }
        let have = alloc.scalar.get(name).copied().unwrap_or(0);
        let in_use = used.scalar.get(name).copied().unwrap_or(0);
        if in_use + want > have {
            reasons.push(format!("Insufficient {name}"));
        }
    }
    reasons
}

fn fractions(pod: &PodInfo, node: &NodeInfo) -> (f64, f64) {
    let (pc, pm) = non_zero(pod);
    let cpu = (node.non_zero_requested.0 + pc) as f64 / node.allocatable.cpu.max(1) as f64;
    let mem = (node.non_zero_requested.1 + pm) as f64 / node.allocatable.memory.max(1) as f64;
    (cpu.min(1.0), mem.min(1.0))
}

/// 0–100: more free CPU and memory after placing the pod scores higher.
pub fn least_allocated(pod: &PodInfo, node: &NodeInfo) -> i64 {
    let (cpu, mem) = fractions(pod, node);
    (((1.0 - cpu) + (1.0 - mem)) / 2.0 * 100.0) as i64
}

/// 0–100: CPU and memory used in similar proportions scores higher. Unlike LeastAllocated it
/// reads the actual requests, without the defaults assumed for containers that set none
/// (kube-scheduler's `useRequested`).
pub fn balanced_allocation(pod: &PodInfo, node: &NodeInfo) -> i64 {
    let used = &node.requested;
    let req = &pod.requests;
    let cpu = ((used.cpu + req.cpu) as f64 / node.allocatable.cpu.max(1) as f64).min(1.0);
    let mem = ((used.memory + req.memory) as f64 / node.allocatable.memory.max(1) as f64).min(1.0);
    let mean = (cpu + mem) / 2.0;
    let std = (((cpu - mean).powi(2) + (mem - mean).powi(2)) / 2.0).sqrt();
    ((1.0 - std) * 100.0) as i64
}
