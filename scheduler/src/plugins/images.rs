//! ImageLocality: prefer nodes that already hold the pod's images, scaled by size like
//! kube-scheduler (23 MB to 1000 MB per container maps to 0–100).

use crate::model::{NodeInfo, PodInfo};

const MIN_THRESHOLD: i64 = 23 * 1024 * 1024;
const MAX_THRESHOLD_PER_CONTAINER: i64 = 1000 * 1024 * 1024;

fn normalized(image: &str) -> String {
    let has_tag = image
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains(':') || last.contains('@'));
    if has_tag {
        image.to_string()
    } else {
        format!("{image}:latest")
    }
}

/// `spread` is the fraction of nodes holding each image, computed once per cycle by the caller
/// (keyed by normalized image name).
pub fn score(pod: &PodInfo, node: &NodeInfo, spread: &dyn Fn(&str) -> f64) -> i64 {
    let Some(spec) = &pod.pod.spec else { return 0 };
    let inits = spec.init_containers.as_deref().unwrap_or_default();
    let mut sum: f64 = 0.0;
    // Init containers' images count as kube-scheduler counts them, threshold included.
    for c in inits.iter().chain(&spec.containers) {
        let Some(image) = &c.image else { continue };
        let name = normalized(image);
        let size = node
            .images
            .get(&name)
            .or_else(|| node.images.get(image))
            .copied()
            .unwrap_or(0);
        sum += size as f64 * spread(&name);
    }
    let max = MAX_THRESHOLD_PER_CONTAINER * (inits.len() + spec.containers.len()).max(1) as i64;
    let clamped = (sum as i64).clamp(MIN_THRESHOLD, max);
    100 * (clamped - MIN_THRESHOLD) / (max - MIN_THRESHOLD).max(1)
}

pub fn image_key(image: &str) -> String {
    normalized(image)
}
