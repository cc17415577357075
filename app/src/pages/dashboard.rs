//! The home page: today's and this month's spend and traffic (each number a link to the view
//! behind it), a 30-day sparkline, the top spenders and the budgets near their limit; the
//! instances with problems (from the
//! same report as the instances pages); then storage, accounts, configuration revision and
//! gateway heartbeats.

use crate::components::empty::{EmptyState, PageHeader};
use crate::components::format::{duration_ms, link, money, percent, thousands};
use crate::components::sparkline::Sparkline;
use crate::pages::instances::{HealthBadge, SeverityBadge};
use crate::server_fns::analytics::get_dashboard;
use crate::server_fns::instances::get_instances;
use crate::server_fns::system::get_system_overview;
use leptos::prelude::*;
use tollgate_domain::analytics::{
    BudgetAlert, BudgetOwner, Dashboard, GroupBy, NEAR_LIMIT_PERCENT, SpendGroup, SpendMetrics,
};
use tollgate_domain::instances::{ClusterReport, HealthState, Severity};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| get_system_overview());
    let dashboard = Resource::new(|| (), |_| get_dashboard(None));
    let instances = Resource::new(|| (), |_| get_instances());
    view! {
        <PageHeader title="Dashboard" description="Spend, traffic and the health of every gateway instance."/>
        {heading("Spend and traffic")}
        <Suspense fallback=|| view! { <p class="text-sm text-zinc-500">"Loading…"</p> }>
            {move || dashboard.get().map(|r| match r {
                Ok(d) => {
                    let alerts = d.near_limit.clone();
                    view! {
                        <SpendOverview dashboard=d/>
                        {heading("Budgets near their limit")}
                        <NearLimit alerts=alerts/>
                    }.into_any()
                }
                Err(e) => view! { <p role="alert" class="field-error">{e.to_string()}</p> }.into_any(),
            })}
        </Suspense>
        {heading("Instances with problems")}
        <Suspense fallback=|| view! { <p class="text-sm text-zinc-500">"Loading…"</p> }>
            {move || instances.get().map(|r| match r {
                Ok(report) => view! { <Problems report=report/> }.into_any(),
                Err(e) => view! { <p role="alert" class="field-error">{e.to_string()}</p> }.into_any(),
            })}
        </Suspense>
        {heading("System")}
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
                    {heading("Gateway processes")}
                    {if o.gateway_nodes.is_empty() {
                        view! {
                            <EmptyState headline="No gateway process has reported a heartbeat yet."
                                coming=&["Each gateway writes a heartbeat every 5 seconds: instance, pod, version, config revision and in-flight requests."]/>
                        }.into_any()
                    } else {
                        view! {
                            <div class="card overflow-hidden p-0">
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
                }.into_any(),
                Err(e) => view! { <p role="alert" class="field-error">{e.to_string()}</p> }.into_any(),
            })}
        </Suspense>
    }
}

fn heading(title: &'static str) -> impl IntoView {
    view! { <h2 class="mt-10 mb-3 text-sm font-semibold uppercase tracking-wide text-zinc-500 first:mt-0">{title}</h2> }
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

/// Link pairs for a range, limited to the dashboard's team when it has one.
fn pairs(range: &str, team: &str, extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut p = vec![("range", range.to_owned()), ("team", team.to_owned())];
    p.extend_from_slice(extra);
    p
}

#[component]
fn SpendOverview(dashboard: Dashboard) -> impl IntoView {
    let d = dashboard;
    let quiet = d.month.requests == 0 && d.daily.iter().all(|(_, m)| m.requests == 0);
    if quiet {
        return view! {
            <div class="card border-dashed p-8 text-center" data-testid="empty-state">
                <p class="text-base font-medium">"No requests have been recorded this month or in the last 30 days."</p>
                <p class="mt-2 text-sm text-zinc-600 dark:text-zinc-400">"Spend, requests and latency appear here within a few seconds of the first request through the gateway."</p>
            </div>
        }
        .into_any();
    }
    let team = d.team.map(|t| t.to_string()).unwrap_or_default();
    let spark_href = link("/spend", &pairs("30d", &team, &[]));
    view! {
        <div class="grid grid-cols-1 gap-4 md:grid-cols-2">
            <Period title="Today (UTC)" range="today" team=team.clone() metrics=d.today/>
            <Period title="This month (UTC)" range="month" team=team.clone() metrics=d.month/>
        </div>
        <div class="card mt-4 p-4">
            <Sparkline days=d.daily.clone() href=spark_href/>
        </div>
        <div class="mt-4 grid grid-cols-1 gap-4 md:grid-cols-2">
            {d.top.into_iter().map(|(gb, groups)| view! { <TopTable group_by=gb groups=groups team=team.clone()/> }).collect_view()}
        </div>
    }
    .into_any()
}

#[component]
fn Period(
    title: &'static str,
    range: &'static str,
    team: String,
    metrics: SpendMetrics,
) -> impl IntoView {
    let m = metrics;
    let spend = link("/spend", &pairs(range, &team, &[]));
    let logs = link("/logs", &pairs(range, &team, &[]));
    let errors = link(
        "/logs",
        &pairs(range, &team, &[("status", "error".to_owned())]),
    );
    let item = |label: &'static str, value: String, href: String, detail: String| {
        view! {
            <div>
                <dt class="text-xs font-medium uppercase tracking-wide text-zinc-500">{label}</dt>
                <dd class="mt-1">
                    <a href=href class="text-xl font-semibold tabular-nums hover:underline" data-metric=label>{value}</a>
                    <span class="block text-xs text-zinc-500">{detail}</span>
                </dd>
            </div>
        }
    };
    view! {
        <section class="card p-5" data-testid=format!("period-{range}")>
            <h3 class="mb-3 text-sm font-medium">{title}</h3>
            <dl class="grid grid-cols-2 gap-4 sm:grid-cols-3">
                {item("Spend", money(m.cost), spend.clone(), String::new())}
                {item("Requests", thousands(m.requests), logs, String::new())}
                {item("Tokens", thousands(m.tokens()), spend.clone(),
                    format!("{} in · {} out", thousands(m.prompt_tokens), thousands(m.completion_tokens)))}
                {item("Error rate", percent(m.error_rate()), errors, if m.errors == 1 { "1 error".to_owned() } else { format!("{} errors", thousands(m.errors)) })}
                {item("Median latency", duration_ms(m.latency.quantile(0.5)), spend,
                    format!("p95 {}", duration_ms(m.latency.quantile(0.95))))}
            </dl>
        </section>
    }
}

#[component]
fn TopTable(group_by: GroupBy, groups: Vec<SpendGroup>, team: String) -> impl IntoView {
    let dim = group_by.as_str();
    let title = format!("Top {}s this month", group_by.title().to_lowercase());
    let logs_filter = matches!(
        group_by,
        GroupBy::Key | GroupBy::Team | GroupBy::Model | GroupBy::Instance
    );
    view! {
        <section class="card overflow-hidden p-0" data-testid=format!("top-{dim}")>
            <h3 class="px-4 pt-3 pb-2 text-sm font-medium">{title}</h3>
            {if groups.is_empty() {
                view! { <p class="px-4 pb-4 text-sm text-zinc-500">"No spend this month."</p> }.into_any()
            } else {
                view! {
                    <table class="w-full text-sm">
                        <thead class="bg-zinc-50 text-left text-xs uppercase text-zinc-500 dark:bg-zinc-900">
                            <tr>
                                <th scope="col" class="px-4 py-2 font-medium">{group_by.title()}</th>
                                <th scope="col" class="px-4 py-2 text-right font-medium">"Requests"</th>
                                <th scope="col" class="px-4 py-2 text-right font-medium">"Spend"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {groups.into_iter().map(|g| {
                                let filter: Vec<(&'static str, String)> = if g.key.is_empty() { vec![] } else { vec![(dim, g.key.clone())] };
                                let mut spend_pairs = pairs("month", &team, &[("group_by", dim.to_owned())]);
                                spend_pairs.extend(filter.iter().cloned());
                                let spend = link("/spend", &spend_pairs);
                                let logs = (logs_filter && !g.key.is_empty()).then(|| link("/logs", &pairs("month", &team, &filter)));
                                view! {
                                    <tr class="border-t border-zinc-100 dark:border-zinc-800">
                                        <th scope="row" class="max-w-0 truncate px-4 py-2 text-left font-medium" title=g.key.clone()>
                                            <a class="hover:underline" href=spend.clone()>{g.label}</a>
                                        </th>
                                        <td class="px-4 py-2 text-right tabular-nums">{match logs {
                                            Some(href) => view! { <a class="hover:underline" href=href>{thousands(g.totals.requests)}</a> }.into_any(),
                                            None => view! { <span>{thousands(g.totals.requests)}</span> }.into_any(),
                                        }}</td>
                                        <td class="px-4 py-2 text-right tabular-nums"><a class="hover:underline" href=spend>{money(g.totals.cost)}</a></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

/// Instances that are not Healthy or have a warning or critical finding, worst first; each links
/// to its page. Says so when there are none, and how many instances were looked at.
#[component]
fn Problems(report: ClusterReport) -> impl IntoView {
    let total = report.instances.len();
    let mut troubled: Vec<_> = report
        .instances
        .into_iter()
        .filter_map(|i| {
            let worst = i
                .worst_diagnosis()
                .filter(|d| d.severity >= Severity::Warning)
                .cloned();
            (i.health.state != HealthState::Healthy || worst.is_some()).then_some((i, worst))
        })
        .collect();
    troubled.sort_by_key(|(i, worst)| {
        (
            std::cmp::Reverse(worst.as_ref().map(|d| d.severity)),
            i.name.clone(),
        )
    });
    if troubled.is_empty() {
        let text = match total {
            0 => "No gateway instance is known yet: none has sent a heartbeat and Kubernetes shows none.".to_owned(),
            1 => "The one instance is healthy, with no findings.".to_owned(),
            n => format!("All {n} instances are healthy, with no findings."),
        };
        return view! { <p class="text-sm text-zinc-600 dark:text-zinc-400" data-testid="no-problems">{text}</p> }
            .into_any();
    }
    view! {
        <div class="card overflow-hidden p-0" data-testid="instance-problems">
            <table class="w-full text-sm">
                <thead class="bg-zinc-50 text-left text-xs uppercase text-zinc-500 dark:bg-zinc-900">
                    <tr><th class="px-4 py-2">"Instance"</th><th class="px-4 py-2">"Health"</th><th class="px-4 py-2">"Worst finding"</th></tr>
                </thead>
                <tbody>
                    {troubled.into_iter().map(|(i, worst)| view! {
                        <tr class="border-t border-zinc-100 dark:border-zinc-800" data-instance=i.name.clone()>
                            <td class="px-4 py-2 font-medium"><a class="hover:underline" href=format!("/instances/{}", i.name)>{i.name.clone()}</a></td>
                            <td class="px-4 py-2"><HealthBadge health=i.health.clone()/></td>
                            <td class="px-4 py-2">{match worst {
                                Some(d) => view! { <SeverityBadge severity=d.severity/>" "<span>{d.title.clone()}</span> }.into_any(),
                                None => view! { <span class="text-zinc-500">{i.health.reason.clone()}</span> }.into_any(),
                            }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// Budgets at or over the dashboard's share in their current window, each linked to its spend.
#[component]
fn NearLimit(alerts: Vec<BudgetAlert>) -> impl IntoView {
    if alerts.is_empty() {
        return view! {
            <p class="text-sm text-zinc-600 dark:text-zinc-400" data-testid="no-budget-alerts">
                {format!("No budget of a key, team or user has reached {NEAR_LIMIT_PERCENT}% of its limit in its current window.")}
            </p>
        }
        .into_any();
    }
    view! {
        <div class="card overflow-hidden p-0" data-testid="budgets-near-limit">
            <table class="w-full text-sm">
                <thead class="bg-zinc-50 text-left text-xs uppercase text-zinc-500 dark:bg-zinc-900">
                    <tr>
                        <th class="px-4 py-2">"Budget of"</th>
                        <th class="px-4 py-2 text-right">"Spent"</th>
                        <th class="px-4 py-2 text-right">"Limit"</th>
                        <th class="px-4 py-2">"Used"</th>
                        <th class="px-4 py-2">"Resets (UTC)"</th>
                    </tr>
                </thead>
                <tbody>
                    {alerts.into_iter().map(|a| {
                        let owner = a.owner.as_str();
                        let href = match a.owner {
                            BudgetOwner::Key => link("/logs", &[("key", a.id.clone())]),
                            BudgetOwner::Team | BudgetOwner::User => {
                                link("/spend", &[("range", "month".to_owned()), (owner, a.id.clone())])
                            }
                        };
                        let share = a.share();
                        let width = format!("width:{:.0}%", (share * 100.0).clamp(0.0, 100.0));
                        let bar = if share >= 1.0 { "h-full bg-red-600" } else { "h-full bg-amber-500" };
                        view! {
                            <tr class="border-t border-zinc-100 dark:border-zinc-800" data-owner=owner data-id=a.id.clone()>
                                <td class="px-4 py-2">
                                    <span class="text-xs uppercase text-zinc-500">{owner}</span>" "
                                    <a class="font-medium hover:underline" href=href>{a.label.clone()}</a>
                                </td>
                                <td class="px-4 py-2 text-right tabular-nums">{money(a.spend)}</td>
                                <td class="px-4 py-2 text-right tabular-nums">{money(a.max_budget)}</td>
                                <td class="px-4 py-2">
                                    <div class="flex items-center gap-2">
                                        <div class="h-2 w-24 overflow-hidden rounded bg-zinc-200 dark:bg-zinc-800" aria-hidden="true">
                                            <div class=bar style=width></div>
                                        </div>
                                        <span class="tabular-nums" data-testid="budget-used">{format!("{:.0}%", share * 100.0)}</span>
                                    </div>
                                </td>
                                <td class="px-4 py-2 tabular-nums">{a.resets.map_or_else(|| "never (lifetime budget)".to_owned(), |t| t.display_minutes())}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
