//! Instances: a card per gateway instance (its state and worst finding), refreshed every few
//! seconds without a reload; and the pieces the instance page (`instance.rs`) shares.

use crate::components::empty::PageHeader;
use crate::server_fns::instances::get_instances;
use leptos::prelude::*;
use std::time::Duration;
use tollgate_domain::Timestamp;
use tollgate_domain::instances::*;

/// How often the pages ask again; the server answers from its caches, so this is cheap.
const REFRESH: Duration = Duration::from_secs(3);

/// A counter that ticks every `REFRESH` in the browser (effects never run on the server).
pub(crate) fn use_refresh() -> ReadSignal<u32> {
    let (tick, set_tick) = signal(0u32);
    Effect::new(move |_| {
        if let Ok(handle) =
            set_interval_with_handle(move || set_tick.update(|t| *t = t.wrapping_add(1)), REFRESH)
        {
            on_cleanup(move || handle.clear());
        }
    });
    tick
}

fn state_class(s: HealthState) -> &'static str {
    match s {
        HealthState::Healthy => {
            "badge bg-green-100 text-green-800 ring-green-200 dark:bg-green-500/10 dark:text-green-300"
        }
        HealthState::Progressing => {
            "badge bg-blue-100 text-blue-800 ring-blue-200 dark:bg-blue-500/10 dark:text-blue-300"
        }
        HealthState::Suspended => "badge",
        HealthState::Missing => {
            "badge bg-amber-100 text-amber-800 ring-amber-200 dark:bg-amber-500/10 dark:text-amber-300"
        }
        HealthState::Degraded => {
            "badge bg-red-100 text-red-800 ring-red-200 dark:bg-red-500/10 dark:text-red-300"
        }
        HealthState::Unknown => {
            "badge bg-zinc-200 text-zinc-800 ring-zinc-300 dark:bg-zinc-700 dark:text-zinc-200"
        }
    }
}

fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "badge bg-red-600 text-white ring-red-700",
        Severity::Warning => {
            "badge bg-amber-100 text-amber-900 ring-amber-300 dark:bg-amber-500/10 dark:text-amber-300"
        }
        Severity::Info => "badge",
    }
}

#[component]
pub(crate) fn HealthBadge(health: Health) -> impl IntoView {
    view! { <span class=state_class(health.state) data-testid="health" title=health.reason.clone()>{health.state.as_str()}</span> }
}

#[component]
pub(crate) fn SeverityBadge(severity: Severity) -> impl IntoView {
    view! { <span class=severity_class(severity)>{severity.as_str()}</span> }
}

/// `3d`, `5h`, `12m`, `40s`.
pub(crate) fn age(from: Option<Timestamp>, now: Timestamp) -> String {
    let Some(from) = from else {
        return "—".to_owned();
    };
    let s = (now.millis() - from.millis()).max(0) / 1000;
    match s {
        s if s >= 86_400 => format!("{}d", s / 86_400),
        s if s >= 3_600 => format!("{}h", s / 3_600),
        s if s >= 60 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Whether Kubernetes is on, and what it cannot see.
#[component]
pub(crate) fn KubernetesBanner(status: KubernetesStatus, generated_at: Timestamp) -> impl IntoView {
    match status {
        KubernetesStatus::Off { reason } => view! {
            <div role="status" data-testid="kubernetes-off" class="card mb-6 border-dashed p-4 text-sm">
                <p class="font-medium">"The Kubernetes view is off."</p>
                <p class="mt-1 text-zinc-600 dark:text-zinc-400">{reason}</p>
                <p class="mt-1 text-zinc-600 dark:text-zinc-400">"Instances and processes below come from gateway heartbeats only; pods, Services, autoscalers, disruption budgets and events need a cluster (see the [kubernetes] settings in the README)."</p>
            </div>
        }
        .into_any(),
        KubernetesStatus::On { namespace, problems, synced } => view! {
            <div data-testid="kubernetes-on" class="mb-6 text-sm text-zinc-600 dark:text-zinc-400">
                <p>
                    "Watching namespace " <span class="font-medium text-zinc-900 dark:text-zinc-100">{namespace}</span>
                    {(!synced).then_some(" (still listing some resources)")}
                    " · updated " {generated_at.display_minutes()}
                </p>
                {(!problems.is_empty()).then(|| view! {
                    <div role="alert" class="card mt-3 border-amber-300 p-4 text-amber-900 dark:text-amber-300">
                        <p class="font-medium">"Some resources cannot be read; parts of this view are unknown:"</p>
                        <ul class="mt-1 list-disc pl-5">{problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
                    </div>
                })}
            </div>
        }
        .into_any(),
    }
}

#[component]
pub fn InstancesPage() -> impl IntoView {
    let tick = use_refresh();
    let report = Resource::new(move || tick.get(), |_| get_instances());
    view! {
        <PageHeader title="Instances" description="Each named gateway instance and its pods, as Kubernetes and the heartbeats see them."/>
        <Transition fallback=|| view! { <p class="text-sm text-zinc-500">"Loading…"</p> }>
            {move || report.get().map(|r| match r {
                Ok(r) => view! {
                    <KubernetesBanner status=r.kubernetes.clone() generated_at=r.generated_at/>
                    {if r.instances.is_empty() {
                        view! {
                            <div class="card border-dashed p-8 text-center" data-testid="empty-state">
                                <p class="text-base font-medium">"No gateway instance found."</p>
                                <p class="mt-2 text-sm text-zinc-600 dark:text-zinc-400">"Instances appear here once a Deployment labelled app.kubernetes.io/name=tollgate-gateway exists in the namespace, or a gateway process writes a heartbeat."</p>
                            </div>
                        }.into_any()
                    } else {
                        view! {
                            <div class="grid grid-cols-1 gap-4 md:grid-cols-2 xl:grid-cols-3">
                                {r.instances.into_iter().map(|i| view! { <InstanceCard instance=i/> }).collect_view()}
                            </div>
                        }.into_any()
                    }}
                }.into_any(),
                Err(e) => view! { <p role="alert" class="field-error">{e.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn InstanceCard(instance: InstanceReport) -> impl IntoView {
    let href = format!("/instances/{}", instance.name);
    let worst = instance.worst_diagnosis().cloned();
    let ready = instance.pods.iter().filter(|p| p.ready).count();
    let reason = if instance.health.reason.is_empty() {
        "Every part is healthy.".to_owned()
    } else {
        instance.health.reason.clone()
    };
    view! {
        <a href=href class="card block p-5 transition-colors hover:border-indigo-300" data-testid="instance-card" data-instance=instance.name.clone()>
            <div class="flex items-center justify-between gap-2">
                <h2 class="text-lg font-semibold">{instance.name.clone()}</h2>
                <HealthBadge health=instance.health.clone()/>
            </div>
            <p class="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{reason}</p>
            <p class="mt-3 text-sm tabular-nums">
                {format!("{ready}/{} pods ready", instance.pods.len())}
                {instance.deployment.clone().map(|d| format!(" · Deployment {d}"))}
            </p>
            {match worst {
                Some(d) => view! {
                    <div class="mt-3 flex items-start gap-2 text-sm" data-testid="worst-diagnosis" data-severity=d.severity.as_str()>
                        <SeverityBadge severity=d.severity/>
                        <span>{d.title}</span>
                    </div>
                }.into_any(),
                None => view! { <p class="mt-3 text-sm text-zinc-500" data-testid="worst-diagnosis" data-severity="none">"No findings."</p> }.into_any(),
            }}
        </a>
    }
}
