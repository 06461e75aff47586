//! Reading `kubectl get … -o json` / YAML dumps as source events.
