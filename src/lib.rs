//! spotcheck: one terminal screen that answers what is not running on
//! Kubernetes and ECS (much of it on EC2 spot), why, and what to do.
//!
//! Data flows one way: `sources` → `model` (one owner, the app loop) →
//! `diagnose` (pure) → `views` (pure drawing). See ARCHITECTURE in README.

pub mod app;
pub mod cli;
pub mod config;
pub mod diagnose;
pub mod dump;
pub mod logging;
pub mod model;
pub mod sources;
pub mod term;
pub mod views;
pub mod why;
