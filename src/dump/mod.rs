//! Reading offline dumps (`kubectl get … -o json`, AWS CLI outputs) into
//! source events, so `why -f` runs the same model and diagnosis as the TUI.

pub mod aws;
pub mod kube;
