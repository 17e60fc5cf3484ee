//! Library behind the `capstan` command.

pub mod kubeconfig;
pub mod up;
pub mod demo;
