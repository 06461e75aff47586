//! EC2 spot and scheduled-event signals: which hosts are at risk, and the host units.

use std::collections::HashMap;

use jiff::Timestamp;

use super::{Context, HostRisk, Unit};
use crate::model::Fleet;
use crate::model::join::Joins;

pub fn host_risks(fleet: &Fleet, joins: &Joins, now: Timestamp) -> HashMap<String, HostRisk> {
    let _ = (fleet, joins, now);
    HashMap::new()
}

pub fn host_units(cx: &Context<'_>) -> Vec<Unit> {
    let _ = cx;
    Vec::new()
}
