//! The home page. Spend analytics arrive with the analytics issue; until then it shows what is
//! real now: storage, accounts, configuration revision and gateway heartbeats.

use crate::components::empty::{EmptyState, PageHeader};
use crate::server_fns::system::get_system_overview;
use leptos::prelude::*;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| get_system_overview());
    view! {
        <PageHeader title="Dashboard" description="Spend, traffic and the health of every gateway instance."/>
        <Suspense fallback=|| view! { <p class="text-sm text-zinc-500">"Loading…"</p> }>
            {move || overview.get().map(|r| match r {
                Ok(o) => view! {
                    <div class="grid grid-cols-2 gap-4 lg:grid-cols-4">
                        <Stat label="Database" value=o.backend.clone()
                            detail=format!("{} of {} migrations applied", o.migrations_applied, o.migrations_expected)/>
                        <Stat label="Users" value=o.users.to_string() detail="accounts that can sign in".to_owned()/>
                        <Stat label="Gateway processes" value=o.gateway_nodes.len().to_string() detail="with a heartbeat on record".to_owned()/>
                        <Stat label="Config revision" value=o.config_revision.to_string() detail="bumped by every change".to_owned()/>
                    </div>
                    <h2 class="mt-10 mb-3 text-sm font-semibold uppercase tracking-wide text-zinc-500">"Gateway processes"</h2>
                    {if o.gateway_nodes.is_empty() {
                        view! {
                            <EmptyState headline="No gateway process has reported a heartbeat yet."
                                coming=&["Each gateway writes a heartbeat every 5 seconds: instance, pod, version, config revision and in-flight requests."]/>
                        }.into_any()
                    } else {
                        view! {
                            <div class="card overflow-hidden">
                                <table class="w-full text-sm">
                                    <thead class="bg-zinc-50 text-left text-xs uppercase text-zinc-500 dark:bg-zinc-900">
                                        <tr><th class="px-4 py-2">"Instance"</th><th class="px-4 py-2">"Pod"</th><th class="px-4 py-2">"Version"</th><th class="px-4 py-2">"Revision"</th><th class="px-4 py-2">"In flight"</th><th class="px-4 py-2">"Last seen"</th></tr>
                                    </thead>
                                    <tbody>
                                        {o.gateway_nodes.into_iter().map(|n| view! {
                                            <tr class="border-t border-zinc-100 dark:border-zinc-800">
                                                <td class="px-4 py-2 font-medium">{n.instance}</td>
                                                <td class="px-4 py-2">{n.pod}</td>
                                                <td class="px-4 py-2">{n.version}</td>
                                                <td class="px-4 py-2">{n.config_revision}</td>
                                                <td class="px-4 py-2">{n.in_flight}</td>
                                                <td class="px-4 py-2">{n.last_seen.display_minutes()}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any()
                    }}
                    <h2 class="mt-10 mb-3 text-sm font-semibold uppercase tracking-wide text-zinc-500">"Spend and traffic"</h2>
                    <EmptyState headline="No traffic has been recorded yet."
                        coming=&[
                            "Today and this month: spend, requests, tokens, error rate, median latency.",
                            "A 30-day sparkline, and the top keys, teams, models and instances by spend.",
                            "Budgets above 80% of their limit, and instances with problems.",
                        ]/>
                }.into_any(),
                Err(e) => view! { <p role="alert" class="field-error">{e.to_string()}</p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Stat(label: &'static str, value: String, detail: String) -> impl IntoView {
    view! {
        <div class="card p-4">
            <div class="text-xs font-medium uppercase tracking-wide text-zinc-500">{label}</div>
            <div class="mt-1 text-2xl font-semibold tabular-nums">{value}</div>
            <div class="mt-1 text-xs text-zinc-500">{detail}</div>
        </div>
    }
}
