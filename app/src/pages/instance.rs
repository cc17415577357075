//! One instance: its health, diagnoses with the fixes, pods (with their heartbeats), Services
//! and the pods each reaches, HPA, PDB, recent Warning events and routes; refreshed every few
//! seconds without a reload.

use super::instances::{HealthBadge, KubernetesBanner, SeverityBadge, age, use_refresh};
use crate::components::empty::PageHeader;
use crate::server_fns::instances::{InstanceDetail, get_instance};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use tollgate_domain::instances::*;

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
        traffic,
    } = detail;
    let total_requests: i64 = traffic.iter().map(|t| t.requests).sum();
    let total_spend = traffic.iter().fold(tollgate_domain::Micros::ZERO, |a, t| {
        a.saturating_add(t.spend)
    });
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
        {if traffic.is_empty() {
            view! { <p class="text-sm text-zinc-500">"No request logged by this instance's pods in the last hour."</p> }.into_any()
        } else {
            view! {
                <div class="card overflow-hidden p-0" data-testid="instance-traffic">
                    <table class="w-full text-sm">
                        <thead class="bg-zinc-50 text-left text-xs uppercase text-zinc-500 dark:bg-zinc-900">
                            <tr><th class=TH>"Pod"</th><th class=TH>"Requests"</th><th class=TH>"Spend"</th></tr>
                        </thead>
                        <tbody>
                            {traffic.into_iter().map(|t| view! {
                                <tr class="border-t border-zinc-100 dark:border-zinc-800">
                                    <td class=TD>{t.pod}</td>
                                    <td class=TD>{t.requests}</td>
                                    <td class=TD>{t.spend.to_string()}</td>
                                </tr>
                            }).collect_view()}
                            <tr class="border-t border-zinc-200 font-medium dark:border-zinc-700">
                                <td class=TD>"All pods"</td>
                                <td class=TD>{total_requests}</td>
                                <td class=TD>{total_spend.to_string()}</td>
                            </tr>
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
        <p class="mt-2 text-xs text-zinc-500">"From the spend log, refreshed at most once a minute."</p>
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
