//! capstan-image: the node's container image store.
//!
//! Pulls images from registries (or imports OCI layouts), keeps their blobs verified by
//! digest, unpacks each layer once into a directory usable as an overlayfs lowerdir, and
//! garbage-collects unused images when the disk fills up. Used by the kubelet and by
//! `capstan image import`.
//!
//! On disk, under the root given to [`ImageStore::open`]: `blobs/sha256/<hex>` (manifests,
//! configs, compressed layers), `layers/<diff-id-hex>/` (unpacked layers), `images.json`
//! (the references present) and `tmp/` (work in progress).
//!
//! Feature `testing` adds the `testing` module: a real registry on loopback and an
//! OCI-layout pusher.

mod auth;
mod blobs;
pub mod demo;
mod error;
mod fsutil;
mod gc;
mod import;
mod index;
mod oci;
mod pins;
mod pull;
mod reference;
mod removal;
mod store;
#[cfg(test)]
mod store_tests;
mod sys;
#[cfg(test)]
mod test_support;
#[cfg(feature = "testing")]
pub mod testing;
mod unpack;

pub use auth::{RegistryAuth, auth_from_docker_config};
pub use error::ImageError;
pub use gc::GcReport;
pub use pull::PullOptions;
pub use reference::{normalize, registry_host};
pub use store::{Image, ImageConfig, ImageStore};
