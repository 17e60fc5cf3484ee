//! Library behind the `capstan` command.

pub mod app;
pub mod compose;
pub mod demo;
pub mod kubeconfig;
pub mod kubectl;
pub mod progress;
pub mod up;
