//! Instances: a card per gateway instance (state and worst finding), and a page per instance
//! with its pods, Services and the pods each reaches, HPA, PDB, Warning events, routes and the
//! diagnoses with their fixes. Both refresh every few seconds without a reload.

use crate::components::empty::PageHeader;
use crate::server_fns::instances::{InstanceDetail, get_instance, get_instances};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use std::time::Duration;
use tollgate_domain::Timestamp;
use tollgate_domain::instances::*;

/// How often the pages ask again; the server answers from its caches, so this is cheap.
const REFRESH: Duration = Duration::from_secs(3);

/// A counter that ticks every `REFRESH` in the browser (effects never run on the server).
fn use_refresh() -> ReadSignal<u32> {
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
fn HealthBadge(health: Health) -> impl IntoView {
    view! { <span class=state_class(health.state) data-testid="health" title=health.reason.clone()>{health.state.as_str()}</span> }
}

#[component]
fn SeverityBadge(severity: Severity) -> impl IntoView {
    view! { <span class=severity_class(severity)>{severity.as_str()}</span> }
}

/// `3d`, `5h`, `12m`, `40s`.
fn age(from: Option<Timestamp>, now: Timestamp) -> String {
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
fn KubernetesBanner(status: KubernetesStatus, generated_at: Timestamp) -> impl IntoView {
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
                {format!("{ready} of {} pods ready", instance.pods.len())}
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

#[component]
pub fn InstancePage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let tick = use_refresh();
    let detail = Resource::new(move || (name(), tick.get()), |(n, _)| get_instance(n));
    view! {
        <Transition fallback=|| view! { <p class="text-sm text-zinc-500">"Loading…"</p> }>
            {move || detail.get().map(|r| match r {
                Ok(d) => view! { <InstanceDetailView detail=d/> }.into_any(),
                Err(e) => view! {
                    <PageHeader title="Instance"/>
                    <p role="alert" class="field-error">{e.to_string()}</p>
                    <a href="/instances" class="mt-4 inline-block text-sm underline">"All instances"</a>
                }.into_any(),
            })}
        </Transition>
    }
}

fn section(title: &'static str) -> impl IntoView {
    view! { <h2 class="mt-10 mb-3 text-sm font-semibold uppercase tracking-wide text-zinc-500">{title}</h2> }
}

const TH: &str = "px-3 py-2";
const TD: &str = "px-3 py-2 align-top";

#[component]
fn InstanceDetailView(detail: InstanceDetail) -> impl IntoView {
    let InstanceDetail {
        kubernetes,
        generated_at,
        instance,
        routes,
    } = detail;
    let now = generated_at;
    let kube_on = matches!(kubernetes, KubernetesStatus::On { .. });
    let title = instance.name.clone();
    view! {
        <leptos_meta::Title text=title.clone()/>
        <div class="mb-6">
            <a href="/instances" class="text-sm text-zinc-500 hover:underline">"Instances"</a>
            <div class="mt-1 flex items-center gap-3">
                <h1 class="text-2xl font-semibold tracking-tight">{title}</h1>
                <HealthBadge health=instance.health.clone()/>
            </div>
            <p class="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{instance.health.reason.clone()}</p>
            {instance.deployment.clone().map(|d| view! {
                <p class="mt-1 text-sm tabular-nums">{format!("Deployment {d}: {} desired, {} updated, {} ready, {} available",
                    instance.replicas.desired, instance.replicas.updated, instance.replicas.ready, instance.replicas.available)}</p>
            })}
        </div>
        <KubernetesBanner status=kubernetes generated_at=generated_at/>

        {section("Diagnoses")}
        {if instance.diagnoses.is_empty() {
            view! { <p class="text-sm text-zinc-500" data-testid="no-diagnoses">"No findings."</p> }.into_any()
        } else {
            view! {
                <div class="space-y-3">
                    {instance.diagnoses.into_iter().map(|d| view! { <DiagnosisCard diagnosis=d/> }).collect_view()}
                </div>
            }.into_any()
        }}

        {section("Pods")}
        <div class="card overflow-x-auto p-0">
            <table class="w-full text-sm" data-testid="pods-table">
                <thead class="bg-zinc-50 text-left text-xs uppercase text-zinc-500 dark:bg-zinc-900">
                    <tr>
                        <th class=TH>"Pod"</th><th class=TH>"Health"</th><th class=TH>"Phase"</th><th class=TH>"Ready"</th>
                        <th class=TH>"Restarts"</th><th class=TH>"Last termination"</th><th class=TH>"Age"</th><th class=TH>"Node"</th>
                        <th class=TH>"Image"</th><th class=TH>"Version"</th><th class=TH>"Revision"</th><th class=TH>"In flight"</th><th class=TH>"Last heartbeat"</th>
                    </tr>
                </thead>
                <tbody>
                    {instance.pods.into_iter().map(|p| {
                        let hb = p.heartbeat.clone();
                        view! {
                            <tr class="border-t border-zinc-100 dark:border-zinc-800">
                                <td class=TD><span class="font-medium">{p.name.clone()}</span>
                                    {(!p.from_kubernetes).then(|| view! { <span class="badge ml-2">"heartbeat only"</span> })}</td>
                                <td class=TD><HealthBadge health=p.health.clone()/></td>
                                <td class=TD>{p.phase.clone()}</td>
                                <td class=TD>{if p.ready { "yes" } else { "no" }}</td>
                                <td class=TD>{p.restarts}</td>
                                <td class=TD>{match p.last_termination.clone() {
                                    Some(t) if p.oom_killed => view! { <span class="font-semibold text-red-600" title="The container used more memory than its limit and was killed.">{t}" (out of memory)"</span> }.into_any(),
                                    Some(t) => view! { <span>{t}</span> }.into_any(),
                                    None => view! { <span class="text-zinc-400">"—"</span> }.into_any(),
                                }}</td>
                                <td class=TD>{age(p.created_at, now)}</td>
                                <td class=TD>{p.node.clone().unwrap_or_else(|| "—".into())}</td>
                                <td class="px-3 py-2 align-top font-mono text-xs">{p.image.clone().unwrap_or_else(|| "—".into())}</td>
                                <td class=TD>{hb.as_ref().map(|h| h.version.clone()).unwrap_or_else(|| "—".into())}</td>
                                <td class=TD>{hb.as_ref().map(|h| h.config_revision.to_string()).unwrap_or_else(|| "—".into())}</td>
                                <td class=TD>{hb.as_ref().map(|h| h.in_flight.to_string()).unwrap_or_else(|| "—".into())}</td>
                                <td class=TD>{match hb {
                                    Some(h) if h.stale => view! { <span class="text-amber-700 dark:text-amber-300">{format!("{} ago (stale)", age(Some(h.last_seen), now))}</span> }.into_any(),
                                    Some(h) => view! { <span>{format!("{} ago", age(Some(h.last_seen), now))}</span> }.into_any(),
                                    None => view! { <span class="text-zinc-400">"none"</span> }.into_any(),
                                }}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>

        {kube_on.then(|| {
            let name = instance.name.clone();
            view! {
                {section("Services and the pods they reach")}
                {if instance.services.is_empty() {
                    view! { <p class="text-sm text-zinc-500">"No Service reaches this instance's pods."</p> }.into_any()
                } else {
                    view! {
                        <div class="space-y-3" data-testid="services">
                            {instance.services.into_iter().map(|s| {
                                let own = name.clone();
                                view! {
                                    <div class="card p-4">
                                        <p class="text-sm"><span class="font-medium">{s.name.clone()}</span>
                                            <span class="ml-2 font-mono text-xs text-zinc-500">{format!("selector: {}", s.selector)}</span></p>
                                        <ul class="mt-2 flex flex-wrap gap-1.5 text-xs">
                                            {s.endpoints.into_iter().map(|e| {
                                                let foreign = e.instance.as_deref() != Some(own.as_str());
                                                let who = e.instance.clone().unwrap_or_else(|| "not an instance".into());
                                                view! {
                                                    <li class=if foreign { "badge bg-red-50 text-red-800 ring-red-200 dark:bg-red-500/10 dark:text-red-300" } else { "badge" }>
                                                        {format!("{} ({who}){}", e.pod, if e.ready { "" } else { ", not ready" })}
                                                    </li>
                                                }
                                            }).collect_view()}
                                        </ul>
                                    </div>
                                }
                            }).collect_view()}
                        </div>
                    }.into_any()
                }}

                {section("Autoscaling")}
                {if instance.hpas.is_empty() {
                    view! { <p class="text-sm text-zinc-500">"No HorizontalPodAutoscaler targets this Deployment."</p> }.into_any()
                } else {
                    instance.hpas.into_iter().map(|h| view! {
                        <div class="card mb-3 p-4 text-sm">
                            <div class="flex items-center gap-2"><span class="font-medium">{h.name.clone()}</span><HealthBadge health=h.health.clone()/></div>
                            <p class="mt-1 tabular-nums">{format!("{}: {} to {} replicas, now {} (wants {}); metrics: {}",
                                h.target, h.min_replicas, h.max_replicas, h.current_replicas, h.desired_replicas, h.metrics.join(", "))}</p>
                        </div>
                    }).collect_view().into_any()
                }}

                {section("Disruption budgets")}
                {if instance.pdbs.is_empty() {
                    view! { <p class="text-sm text-zinc-500">"No PodDisruptionBudget covers these pods."</p> }.into_any()
                } else {
                    instance.pdbs.into_iter().map(|p| view! {
                        <div class="card mb-3 p-4 text-sm">
                            <div class="flex items-center gap-2"><span class="font-medium">{p.name.clone()}</span><HealthBadge health=p.health.clone()/></div>
                            <p class="mt-1 tabular-nums">{format!("{}; selector {}; {} healthy of {} needed; {} disruptions allowed",
                                p.budget, p.selector, p.current_healthy, p.desired_healthy, p.disruptions_allowed)}</p>
                        </div>
                    }).collect_view().into_any()
                }}

                {section("Recent Warning events")}
                {if instance.events.is_empty() {
                    view! { <p class="text-sm text-zinc-500">"No Warning events."</p> }.into_any()
                } else {
                    view! {
                        <ul class="card divide-y divide-zinc-100 p-0 text-sm dark:divide-zinc-800">
                            {instance.events.into_iter().map(|e| view! {
                                <li class="px-4 py-2">
                                    <span class="font-medium">{e.reason}</span>" "
                                    <span class="text-zinc-500">{format!("{} ×{} · {}", e.object, e.count, e.last_seen.map(|t| t.display_minutes()).unwrap_or_default())}</span>
                                    <p>{e.message}</p>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            }
        })}

        {section("Routes")}
        {if routes.is_empty() {
            view! { <p class="text-sm text-zinc-500">"No model route serves this instance."</p> }.into_any()
        } else {
            view! {
                <div class="card overflow-hidden p-0">
                    <table class="w-full text-sm">
                        <thead class="bg-zinc-50 text-left text-xs uppercase text-zinc-500 dark:bg-zinc-900">
                            <tr><th class=TH>"Model"</th><th class=TH>"Strategy"</th><th class=TH>"Deployments"</th><th class=TH>"Scope"</th></tr>
                        </thead>
                        <tbody>
                            {routes.into_iter().map(|r| view! {
                                <tr class="border-t border-zinc-100 dark:border-zinc-800">
                                    <td class=TD>{r.model_name}{r.alias_of.map(|a| format!(" → {a}"))}</td>
                                    <td class=TD>{r.strategy}</td>
                                    <td class=TD>{r.deployments}</td>
                                    <td class=TD>{if r.all_instances { "every instance" } else { "this instance" }}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}

        {section("Traffic and spend, last hour")}
        <p class="text-sm text-zinc-500">"Requests and spend per pod arrive with the spend pipeline; the cross-instance traffic check uses them then."</p>
    }
}

#[component]
fn DiagnosisCard(diagnosis: Diagnosis) -> impl IntoView {
    let d = diagnosis;
    view! {
        <div class="card p-4" data-testid="diagnosis" data-code=d.code.clone() data-severity=d.severity.as_str()>
            <div class="flex items-start gap-2">
                <SeverityBadge severity=d.severity/>
                <p class="font-medium">{d.title}</p>
            </div>
            <ul class="mt-2 list-disc pl-5 text-sm text-zinc-700 dark:text-zinc-300">
                {d.evidence.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}
            </ul>
            <p class="mt-2 text-sm"><span class="font-medium">"Fix: "</span>{d.fix}</p>
            {d.fix_commands.into_iter().map(|c| view! {
                <pre class="mt-2 overflow-x-auto rounded-md bg-zinc-900 p-3 text-xs text-zinc-100">{c}</pre>
            }).collect_view()}
        </div>
    }
}
