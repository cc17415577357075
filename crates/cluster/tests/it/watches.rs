//! The watches through the real client: list then watch events, a 410 Gone forcing a re-list, a
//! 403 reported as Unknown with its reason, and the health model following the objects.

use crate::fake::FakeApi;
use std::time::Duration;
use tollgate_cluster::fixtures as fx;
use tollgate_cluster::{
    Cluster, ClusterReport, Enabled, HealthState, KindState, ReportSettings, Settings, Watches,
};
use tollgate_domain::Timestamp;

fn settings() -> Settings {
    Settings {
        enabled: Enabled::Yes,
        namespace: Some(fx::NAMESPACE.to_owned()),
        report: ReportSettings::default(),
    }
}

/// The real client, configured from a kubeconfig file as an operator's would be.
async fn watch(api: &FakeApi) -> Watches {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, api.kubeconfig(fx::NAMESPACE)).unwrap();
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    assert_eq!(config.default_namespace, fx::NAMESPACE);
    let mut s = settings();
    s.namespace = None; // from the kubeconfig context
    Cluster::start(config, &s).unwrap()
}

fn report(w: &Watches) -> ClusterReport {
    tollgate_cluster::report::build_live(
        w.namespace(),
        &w.objects(),
        &w.access(),
        &[],
        None,
        &[],
        &ReportSettings::default(),
        Timestamp(fx::CREATED_MS + 10_000),
    )
}

/// Polls until `check` holds (then returns its value) or fails after 20 s with the last state.
async fn eventually<T>(what: &str, w: &Watches, check: impl Fn(&ClusterReport) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = report(w);
        if let Some(v) = check(&r) {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}; access {:?}\nreport {r:#?}",
                w.access()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn all_synced(w: &Watches) -> bool {
    let a = w.access();
    a.len() == 8 && a.values().all(|s| *s == KindState::Synced)
}

async fn synced(w: &Watches) {
    eventually("every watch to list", w, |_| all_synced(w).then_some(())).await;
}

#[tokio::test]
async fn lists_then_follows_watch_events_and_the_health_model_updates() {
    let api = FakeApi::start(&fx::incident_fixed()).await;
    let w = watch(&api).await;
    synced(&w).await;
    let r = report(&w);
    assert_eq!(r.instances.len(), 3);
    assert!(r.diagnoses.is_empty(), "{:#?}", r.diagnoses);
    assert!(
        r.instances
            .iter()
            .all(|i| i.health.state == HealthState::Healthy)
    );
    assert_eq!(w.objects().pods.len(), 9);

    // MODIFIED: claude's rollout stalls at 1 of 3 available.
    let mut d = fx::incident_fixed().deployments.remove(0);
    assert_eq!(tollgate_cluster::objects::name(&d.metadata), "claude");
    d.status.as_mut().unwrap().available_replicas = Some(1);
    api.apply("deployments", &d);
    let reason = eventually("claude to be Progressing", &w, |r| {
        let c = r.instance("claude")?;
        (c.health.state == HealthState::Progressing).then(|| c.health.reason.clone())
    })
    .await;
    assert!(
        reason.contains("1 of 3 updated replicas are available"),
        "{reason}"
    );

    // MODIFIED: claude's EndpointSlice picks up a pod of openai-eu -> critical overlap.
    let mut pods = fx::pod_names("claude");
    pods.push(fx::pod_names("openai-eu")[0].clone());
    let refs: Vec<&str> = pods.iter().map(String::as_str).collect();
    api.apply("endpointslices", &fx::endpoint_slice("claude", &refs));
    let d = eventually("the overlap diagnosis", &w, |r| {
        r.diagnoses
            .iter()
            .find(|d| d.code == "service-selector-overlap")
            .cloned()
    })
    .await;
    assert_eq!(d.instances, vec!["claude", "openai-eu"]);

    // DELETED: a pod goes away; ADDED: a new one with a crash-looping container.
    let gone = fx::pod_names("batch")[2].clone();
    api.delete("pods", &gone);
    let crash = fx::with_crash(
        fx::pod(
            "batch-5d8f7c9b4-zzzzz",
            "batch-5d8f7c9b4",
            &fx::gateway_labels("batch"),
        ),
        "OOMKilled",
        137,
        3,
    );
    api.apply("pods", &crash);
    let batch = eventually("batch's pods to change", &w, |r| {
        let b = r.instance("batch")?;
        (b.pods.len() == 3 && b.pods.iter().all(|p| p.name != gone)).then(|| b.clone())
    })
    .await;
    let row = batch
        .pods
        .iter()
        .find(|p| p.name.ends_with("zzzzz"))
        .unwrap();
    assert!(row.oom_killed);
    assert_eq!(row.health.state, HealthState::Degraded);

    // All of that came by the watch: one list and one watch stream per resource, never
    // re-listed or re-opened.
    for plural in ["deployments", "endpointslices", "pods"] {
        assert_eq!(api.lists(plural), 1, "{plural} lists");
        assert_eq!(api.watches(plural), 1, "{plural} watches");
    }
}

#[tokio::test]
async fn gone_forces_a_relist_that_drops_what_the_watch_missed() {
    let api = FakeApi::start(&fx::incident_fixed()).await;
    let w = watch(&api).await;
    synced(&w).await;
    let victim = fx::pod_names("openai-eu")[1].clone();
    assert!(
        report(&w)
            .instance("openai-eu")
            .unwrap()
            .pods
            .iter()
            .any(|p| p.name == victim)
    );
    let lists_before = api.lists("pods");

    // No DELETED event will come: only a re-list can show the pod is gone.
    api.delete_while_compacted("pods", &victim);
    eventually("the pod to disappear", &w, |r| {
        let i = r.instance("openai-eu")?;
        i.pods.iter().all(|p| p.name != victim).then_some(())
    })
    .await;
    assert!(api.gone_sent() >= 1, "the watch resumed and got 410 Gone");
    assert!(
        api.lists("pods") > lists_before,
        "and the watcher listed again"
    );
    assert_eq!(w.objects().pods.len(), 8);
    assert!(all_synced(&w));
}

#[tokio::test]
async fn forbidden_resources_are_unknown_with_the_reason_until_granted() {
    let api = FakeApi::start(&fx::incident_fixed()).await;
    api.forbid("pods");
    api.forbid("poddisruptionbudgets");
    let w = watch(&api).await;
    let reason = eventually("pods to be reported forbidden", &w, |r| {
        let c = r.instance("claude")?;
        (c.health.state == HealthState::Unknown && c.health.reason.contains("403"))
            .then(|| c.health.reason.clone())
    })
    .await;
    assert!(
        reason.contains("cannot list pods: forbidden (403)"),
        "{reason}"
    );
    assert!(reason.contains("cannot list resource \"pods\""), "{reason}");
    let r = report(&w);
    let access = r
        .diagnoses
        .iter()
        .find(|d| d.code == "kubernetes-access")
        .unwrap();
    assert!(
        access
            .evidence
            .iter()
            .any(|e| e.starts_with("poddisruptionbudgets: forbidden (403)"))
    );
    assert!(matches!(
        w.access().get("pods"),
        Some(KindState::Failed {
            forbidden: true,
            ..
        })
    ));
    assert!(matches!(
        w.access().get("deployments"),
        Some(KindState::Synced)
    ));

    // The RBAC is fixed: the watcher's backoff retries and the view heals without a restart.
    api.allow("pods");
    api.allow("poddisruptionbudgets");
    eventually("claude to be Healthy", &w, |r| {
        (r.instance("claude")?.health.state == HealthState::Healthy).then_some(())
    })
    .await;
    assert_eq!(report(&w).instance("claude").unwrap().pods.len(), 3);
}

#[tokio::test]
async fn the_incident_through_the_real_client() {
    let api = FakeApi::start(&fx::incident()).await;
    let w = watch(&api).await;
    synced(&w).await;
    let r = report(&w);
    let overlaps = r
        .diagnoses
        .iter()
        .filter(|d| d.code == "service-selector-overlap")
        .count();
    assert_eq!(overlaps, 3, "{:#?}", r.diagnoses);
    for i in &r.instances {
        assert_eq!(
            i.worst_diagnosis().map(|d| d.code.as_str()),
            Some("service-selector-overlap")
        );
    }
}

#[tokio::test]
async fn switched_off_needs_no_cluster() {
    let mut s = settings();
    s.enabled = Enabled::No;
    let c = Cluster::connect(&s).await.unwrap();
    assert!(matches!(c, Cluster::Off { ref reason } if reason.contains("enabled = false")));
}
