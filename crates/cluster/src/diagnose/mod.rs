//! Diagnoses: pure functions from the objects (through the ownership [`Index`]), heartbeats and
//! traffic samples to findings, each with a severity, its evidence and the fix.

mod heartbeats;
mod overlap;
mod scaling;
mod traffic;

pub use heartbeats::{config_behind, missing_or_stale, mixed_versions};
pub use overlap::{OVERLAP_FIX, endpoint_count, no_endpoints, service_overlap, services_of};
pub use scaling::{hpa_selector_overlap, pdb_double_coverage};
pub use traffic::cross_instance_traffic;

use crate::objects::Index;
use crate::report::{Heartbeat, TrafficSample};
use tollgate_domain::Timestamp;
use tollgate_domain::instances::{Diagnosis, Severity};

/// Every diagnosis over a live view, most severe first. `config_revision` is the database's
/// configuration revision, when it could be read.
pub fn all(
    index: &Index<'_>,
    heartbeats: &[Heartbeat],
    config_revision: Option<i64>,
    traffic: &[TrafficSample],
    stale_ms: i64,
    now: Timestamp,
) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    out.extend(service_overlap(index));
    out.extend(no_endpoints(index));
    out.extend(endpoint_count(index));
    out.extend(pdb_double_coverage(index));
    out.extend(hpa_selector_overlap(index));
    out.extend(missing_or_stale(Some(index), heartbeats, stale_ms, now));
    out.extend(config_behind(heartbeats, config_revision, stale_ms, now));
    out.extend(mixed_versions(heartbeats, stale_ms, now));
    out.extend(cross_instance_traffic(Some(index), heartbeats, traffic));
    sort(&mut out);
    out
}

/// `1 pod`, `3 pods`.
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Most severe first, then by code and title, so the order is stable.
pub fn sort(d: &mut [Diagnosis]) {
    d.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.code.cmp(&b.code))
            .then_with(|| a.title.cmp(&b.title))
    });
}

pub(crate) fn finding(
    code: &str,
    severity: Severity,
    title: String,
    instances: Vec<String>,
    evidence: Vec<String>,
    fix: &str,
    fix_commands: Vec<String>,
) -> Diagnosis {
    let mut instances = instances;
    instances.sort();
    instances.dedup();
    Diagnosis {
        code: code.to_owned(),
        severity,
        title,
        instances,
        owner: None,
        evidence,
        fix: fix.to_owned(),
        fix_commands,
    }
}

#[cfg(test)]
mod tests;
