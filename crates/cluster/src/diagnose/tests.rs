//! Diagnoses and the report on fixtures: the selector-overlap incident, its fix, and one
//! change at a time from the fix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::fixtures::{self as fx, INCIDENT_INSTANCES};
use crate::report::{self, Access, Heartbeat, KindState, ReportSettings, TrafficSample};
use crate::{Objects, diagnose, objects::name};
use tollgate_domain::Timestamp;
use tollgate_domain::instances::*;

const NOW: Timestamp = Timestamp(fx::CREATED_MS + 3_600_000);

fn synced() -> Access {
    [
        "deployments",
        "replicasets",
        "pods",
        "services",
        "endpointslices",
        "horizontalpodautoscalers",
        "poddisruptionbudgets",
        "events",
    ]
    .into_iter()
    .map(|k| (k.to_owned(), KindState::Synced))
    .collect()
}

/// A fresh heartbeat for every pod, each naming the instance that owns it.
fn heartbeats(o: &Objects) -> Vec<Heartbeat> {
    o.pods
        .iter()
        .map(|p| {
            let pod = name(&p.metadata).to_owned();
            let instance = INCIDENT_INSTANCES
                .iter()
                .find(|i| pod.starts_with(&format!("{i}-")))
                .unwrap()
                .to_string();
            Heartbeat {
                instance,
                pod,
                version: "0.1.0".into(),
                config_revision: 7,
                in_flight: 2,
                last_seen: NOW.plus_millis(-2_000),
            }
        })
        .collect()
}

fn live(o: &Objects, beats: &[Heartbeat], traffic: &[TrafficSample]) -> ClusterReport {
    report::build_live(
        "tollgate",
        o,
        &synced(),
        beats,
        None,
        traffic,
        &ReportSettings::default(),
        NOW,
    )
}

fn codes(r: &ClusterReport) -> Vec<(&str, Severity)> {
    r.diagnoses
        .iter()
        .map(|d| (d.code.as_str(), d.severity))
        .collect()
}

#[test]
fn the_incident_is_critical_for_every_service_and_names_each_owner() {
    let o = fx::incident();
    let r = live(&o, &heartbeats(&o), &[]);
    let overlaps: Vec<&Diagnosis> = r
        .diagnoses
        .iter()
        .filter(|d| d.code == "service-selector-overlap")
        .collect();
    assert_eq!(overlaps.len(), 3, "one per Service: {:#?}", codes(&r));
    for d in &overlaps {
        assert_eq!(d.severity, Severity::Critical);
        assert_eq!(d.instances, vec!["batch", "claude", "openai-eu"]);
        assert!(
            d.evidence[0].contains("selects `app=litellm`"),
            "{:?}",
            d.evidence
        );
        // Service -> EndpointSlice -> pod -> ReplicaSet -> Deployment, for each instance.
        for i in INCIDENT_INSTANCES {
            assert!(
                d.evidence.iter().any(|e| e.starts_with(&format!(
                    "instance {i} (ReplicaSet {i}-5d8f7c9b4, Deployment {i})"
                ))),
                "{i} missing from {:?}",
                d.evidence
            );
        }
        assert!(d.fix.contains("includeSelectors: true"));
        assert!(
            d.fix_commands
                .iter()
                .any(|c| c.starts_with("kubectl -n tollgate patch service"))
        );
    }
    // Each Service has 9 endpoints against 3 ready replicas; the HPAs and PDBs overlap too.
    let count = |code: &str| r.diagnoses.iter().filter(|d| d.code == code).count();
    assert_eq!(count("endpoint-count-mismatch"), 3);
    assert_eq!(count("hpa-selector-overlap"), 3);
    assert_eq!(count("pod-multiple-pdbs"), 1);
    assert_eq!(
        r.diagnoses[0].severity,
        Severity::Critical,
        "most severe first"
    );

    let claude = r.instance("claude").unwrap();
    let worst = claude.worst_diagnosis().unwrap();
    assert_eq!(worst.code, "service-selector-overlap");
    assert_eq!(
        worst.owner.as_deref(),
        Some("claude"),
        "its own Service's finding first"
    );
    assert!(
        worst.title.starts_with("Service claude "),
        "{}",
        worst.title
    );
    assert_eq!(
        claude.services.len(),
        3,
        "every Service reaches claude's pods"
    );
    let own = claude.services.iter().find(|s| s.name == "claude").unwrap();
    assert_eq!(own.endpoints.len(), 9);
    let owners: std::collections::BTreeSet<_> = own
        .endpoints
        .iter()
        .filter_map(|e| e.instance.as_deref())
        .collect();
    assert_eq!(owners.len(), 3);
    // The objects themselves are healthy: Argo would show green while traffic is misrouted.
    assert_eq!(
        claude.health.state,
        HealthState::Healthy,
        "{:?}",
        claude.health
    );
}

#[test]
fn the_fix_has_no_findings() {
    let o = fx::incident_fixed();
    let r = live(&o, &heartbeats(&o), &[]);
    assert!(r.diagnoses.is_empty(), "{:#?}", r.diagnoses);
    assert_eq!(r.instances.len(), 3);
    for i in &r.instances {
        assert_eq!(
            i.health.state,
            HealthState::Healthy,
            "{}: {:?}",
            i.name,
            i.health
        );
        assert_eq!(i.services.len(), 1);
        assert_eq!(i.services[0].endpoints.len(), 3);
        assert!(
            i.services[0]
                .endpoints
                .iter()
                .all(|e| e.instance.as_deref() == Some(&i.name))
        );
        assert_eq!(i.hpas.len(), 1);
        assert_eq!(i.pdbs.len(), 1);
        assert_eq!(i.pods.len(), 3);
        assert!(
            i.pods
                .iter()
                .all(|p| p.heartbeat.as_ref().is_some_and(|h| !h.stale))
        );
    }
    assert_eq!(
        r.kubernetes,
        KubernetesStatus::On {
            namespace: "tollgate".into(),
            problems: vec![],
            synced: true
        }
    );
}

#[test]
fn a_service_without_endpoints_is_critical_for_its_instance_only() {
    let mut o = fx::incident_fixed();
    o.endpoint_slices
        .retain(|s| !name(&s.metadata).starts_with("claude"));
    let r = live(&o, &heartbeats(&o), &[]);
    assert_eq!(
        codes(&r),
        vec![("service-no-endpoints", Severity::Critical)]
    );
    assert_eq!(r.diagnoses[0].instances, vec!["claude"]);
    assert!(r.instance("batch").unwrap().diagnoses.is_empty());
}

#[test]
fn heartbeat_findings() {
    let o = fx::incident_fixed();
    let mut beats = heartbeats(&o);
    // claude's pods never sent one; one batch pod went quiet; one openai-eu pod is behind and
    // on another version.
    beats.retain(|h| h.instance != "claude");
    let quiet = beats.iter_mut().find(|h| h.instance == "batch").unwrap();
    quiet.last_seen = NOW.plus_millis(-120_000);
    let old = beats
        .iter_mut()
        .find(|h| h.instance == "openai-eu")
        .unwrap();
    old.config_revision = 5;
    old.version = "0.0.9".into();
    let r = live(&o, &beats, &[]);
    let mut got = codes(&r);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("config-revision-behind", Severity::Warning),
            ("heartbeat-missing", Severity::Warning),
            ("heartbeat-stale", Severity::Warning),
            ("mixed-versions", Severity::Warning),
        ]
    );
    let missing = r
        .diagnoses
        .iter()
        .find(|d| d.code == "heartbeat-missing")
        .unwrap();
    assert_eq!(missing.instances, vec!["claude"]);
    assert_eq!(
        missing.title,
        "3 running pods of instance claude never sent a heartbeat"
    );
    let behind = r
        .diagnoses
        .iter()
        .find(|d| d.code == "config-revision-behind")
        .unwrap();
    assert!(
        behind.evidence[0].ends_with("revision 5"),
        "{:?}",
        behind.evidence
    );

    // A pod younger than the stale window is starting, not missing.
    let mut young = o.clone();
    for p in &mut young.pods {
        p.metadata.creation_timestamp = fx::time(NOW.millis() - 5_000);
    }
    let r = live(&young, &[], &[]);
    assert!(
        r.diagnoses.iter().all(|d| d.code != "heartbeat-missing"),
        "{:#?}",
        codes(&r)
    );
}

fn sample(
    instance: &str,
    pod: &str,
    model: &str,
    requests: u64,
    misdirected: u64,
) -> TrafficSample {
    TrafficSample {
        instance: instance.into(),
        pod: pod.into(),
        model: model.into(),
        requests,
        misdirected,
    }
}

/// The incident seen from the spend log: claude's Service round-robins into openai-eu's pods,
/// which have no route for claude's model and refuse it, while claude's own pods serve it.
#[test]
fn requests_refused_by_another_instances_pods_are_critical() {
    let o = fx::incident_fixed();
    let own = fx::pod_names("claude")[0].clone();
    let other = fx::pod_names("openai-eu");
    let traffic = vec![
        sample("claude", &own, "claude-sonnet-4", 40, 0),
        sample("openai-eu", &other[0], "claude-sonnet-4", 12, 12),
        sample("openai-eu", &other[0], "gpt-4o", 30, 0),
        sample("openai-eu", &other[1], "claude-sonnet-4", 8, 8),
        // A model nobody serves: a client's typo, not misdirected traffic.
        sample("openai-eu", &other[1], "no-such-model", 5, 5),
    ];
    let r = live(&o, &heartbeats(&o), &traffic);
    assert_eq!(
        codes(&r),
        vec![("cross-instance-traffic", Severity::Critical)]
    );
    let d = &r.diagnoses[0];
    assert_eq!(
        d.title,
        "20 requests for claude-sonnet-4, which instance claude serves, reached pods of instance openai-eu in the last hour"
    );
    assert_eq!(
        d.instances,
        vec!["claude".to_owned(), "openai-eu".to_owned()]
    );
    assert!(
        d.evidence[0].starts_with(&format!("{} (instance openai-eu) refused 12", other[0])),
        "{:?}",
        d.evidence
    );
    assert!(
        d.evidence[1].starts_with(&format!("{} (instance openai-eu) refused 8", other[1])),
        "{:?}",
        d.evidence
    );
    // Without a Kubernetes view the same evidence stands.
    let off = report::build_off(
        "no cluster",
        &heartbeats(&o),
        None,
        &traffic,
        &ReportSettings::default(),
        NOW,
    );
    assert!(
        off.diagnoses
            .iter()
            .any(|d| d.code == "cross-instance-traffic")
    );
}

#[test]
fn a_pod_logging_another_instance_than_its_deployments_is_critical() {
    let o = fx::incident_fixed();
    let other = fx::pod_names("openai-eu")[0].clone();
    let own = fx::pod_names("claude")[0].clone();
    let traffic = vec![
        sample("claude", &own, "claude-sonnet-4", 40, 0),
        sample("claude", &other, "claude-sonnet-4", 10, 0),
        sample("claude", &other, "gpt-4o", 2, 0),
    ];
    let r = live(&o, &heartbeats(&o), &traffic);
    assert_eq!(
        codes(&r),
        vec![("pod-instance-mismatch", Severity::Critical)]
    );
    let d = &r.diagnoses[0];
    assert!(
        d.title.starts_with(
            "12 requests were served as instance claude by pods of instance openai-eu"
        ),
        "{}",
        d.title
    );
    assert_eq!(d.evidence.len(), 1, "one line per pod: {:?}", d.evidence);
    assert!(d.evidence[0].starts_with(&other));
}

#[test]
fn forbidden_core_resources_make_instances_unknown() {
    let o = fx::incident_fixed();
    let mut access = synced();
    access.insert(
        "pods".into(),
        KindState::Failed {
            message: "pods is forbidden".into(),
            forbidden: true,
        },
    );
    let r = report::build_live(
        "tollgate",
        &o,
        &access,
        &[],
        None,
        &[],
        &ReportSettings::default(),
        NOW,
    );
    let claude = r.instance("claude").unwrap();
    assert_eq!(claude.health.state, HealthState::Unknown);
    assert!(
        claude
            .health
            .reason
            .contains("cannot list pods: forbidden (403)"),
        "{}",
        claude.health.reason
    );
    assert!(r.diagnoses.iter().any(|d| d.code == "kubernetes-access"));

    // An auxiliary resource forbidden: a finding, but the instance health stands.
    let mut access = synced();
    access.insert(
        "poddisruptionbudgets".into(),
        KindState::Failed {
            message: "forbidden".into(),
            forbidden: true,
        },
    );
    let mut no_pdbs = o.clone();
    no_pdbs.pdbs.clear();
    let r = report::build_live(
        "tollgate",
        &no_pdbs,
        &access,
        &heartbeats(&o),
        None,
        &[],
        &ReportSettings::default(),
        NOW,
    );
    assert_eq!(
        r.instance("claude").unwrap().health.state,
        HealthState::Healthy
    );
    assert_eq!(codes(&r), vec![("kubernetes-access", Severity::Warning)]);
    match &r.kubernetes {
        KubernetesStatus::On {
            problems, synced, ..
        } => {
            assert!(!synced);
            assert!(problems[0].starts_with("poddisruptionbudgets: forbidden (403)"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn pods_show_oom_and_instances_degrade_with_their_deployment() {
    let mut o = fx::incident_fixed();
    let victim = fx::pod_names("batch")[1].clone();
    let p = o
        .pods
        .iter_mut()
        .find(|p| name(&p.metadata) == victim)
        .unwrap();
    *p = fx::with_crash(p.clone(), "OOMKilled", 137, 6);
    let d = o
        .deployments
        .iter_mut()
        .find(|d| name(&d.metadata) == "batch")
        .unwrap();
    d.status.as_mut().unwrap().available_replicas = Some(2);
    o.events.push(fx::warning_event(
        "Pod",
        &victim,
        "BackOff",
        "Back-off restarting failed container",
    ));
    o.events.push(fx::warning_event(
        "Pod",
        "someone-else",
        "BackOff",
        "not ours",
    ));
    let r = live(&o, &heartbeats(&o), &[]);
    let batch = r.instance("batch").unwrap();
    assert_eq!(
        batch.health.state,
        HealthState::Progressing,
        "{:?}",
        batch.health
    );
    let row = batch.pods.iter().find(|p| p.name == victim).unwrap();
    assert!(row.oom_killed);
    assert_eq!(row.restarts, 6);
    assert_eq!(row.last_termination.as_deref(), Some("OOMKilled"));
    assert_eq!(row.health.state, HealthState::Degraded);
    assert_eq!(batch.events.len(), 1);
    assert_eq!(batch.events[0].object, format!("Pod/{victim}"));
}

#[test]
fn with_no_cluster_instances_come_from_heartbeats() {
    let o = fx::incident_fixed();
    let mut beats = heartbeats(&o);
    for h in beats.iter_mut().filter(|h| h.instance == "batch") {
        h.last_seen = NOW.plus_millis(-600_000);
    }
    let r = report::build_off(
        "no kubeconfig",
        &beats,
        None,
        &[],
        &ReportSettings::default(),
        NOW,
    );
    assert_eq!(
        r.kubernetes,
        KubernetesStatus::Off {
            reason: "no kubeconfig".into()
        }
    );
    assert_eq!(r.instances.len(), 3);
    assert_eq!(
        r.instance("claude").unwrap().health.state,
        HealthState::Healthy
    );
    let batch = r.instance("batch").unwrap();
    assert_eq!(batch.health.state, HealthState::Missing);
    assert!(
        batch
            .pods
            .iter()
            .all(|p| !p.from_kubernetes && p.heartbeat.as_ref().unwrap().stale)
    );
    assert_eq!(codes(&r), vec![("heartbeat-stale", Severity::Warning)]);
}

#[test]
fn processes_behind_the_databases_revision_are_found_even_when_all_are() {
    let o = fx::incident_fixed();
    let beats = heartbeats(&o); // every process on revision 7
    let at = |revision: Option<i64>| {
        report::build_live(
            "tollgate",
            &o,
            &synced(),
            &beats,
            revision,
            &[],
            &ReportSettings::default(),
            NOW,
        )
    };
    assert!(at(Some(7)).diagnoses.is_empty());
    // Unknown: the newest heartbeat stands in, and equal revisions say nothing.
    assert!(at(None).diagnoses.is_empty());

    let r = at(Some(9));
    assert_eq!(
        codes(&r),
        vec![("config-revision-behind", Severity::Warning)]
    );
    let d = &r.diagnoses[0];
    assert_eq!(
        d.title,
        "9 gateway processes are behind the database's configuration revision 9"
    );
    assert_eq!(d.instances, vec!["batch", "claude", "openai-eu"]);
    assert_eq!(d.evidence.len(), 9);
    assert!(d.evidence.iter().all(|e| e.ends_with("revision 7")));
    for i in &r.instances {
        assert_eq!(i.worst_diagnosis().unwrap().code, "config-revision-behind");
    }

    // A process that applied a change made after the revision was read is not behind; the
    // others are behind it.
    let mut ahead = beats.clone();
    ahead[0].config_revision = 8;
    let d = &diagnose::config_behind(&ahead, Some(7), 30_000, NOW)[0];
    assert!(
        d.title
            .starts_with("8 gateway processes are behind the newest configuration revision 8")
    );

    // Without a cluster too.
    let off = report::build_off(
        "no kubeconfig",
        &beats,
        Some(9),
        &[],
        &ReportSettings::default(),
        NOW,
    );
    assert_eq!(
        codes(&off),
        vec![("config-revision-behind", Severity::Warning)]
    );
}
