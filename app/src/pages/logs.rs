//! The request log: one row per request, newest first, filtered by the URL and paged by a
//! cursor ("Older →"), never by page numbers, so new requests never shift a page.

use crate::components::empty::PageHeader;
use crate::components::format::{duration_ms, error_text, link, money, thousands, url_encode};
use crate::components::range::{RangeFields, RangeParams, non_empty, now, param};
use crate::components::spend_form::{Select, TextFilter};
use crate::error::AppError;
use crate::server_fns::analytics::{SpendOptions, get_request_log, get_spend_options};
use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;
use tollgate_domain::analytics::param as parse;
use tollgate_domain::analytics::{LogEntry, LogPage, LogQuery};

/// The request log's query string, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogParams {
    pub range: RangeParams,
    pub key: String,
    pub team: String,
    pub model: String,
    pub instance: String,
    pub pod: String,
    pub status: String,
    pub min_latency_ms: String,
    pub after: String,
}

impl LogParams {
    pub fn read(map: &ParamsMap) -> LogParams {
        LogParams {
            range: RangeParams::read(map),
            key: param(map, "key"),
            team: param(map, "team"),
            model: param(map, "model"),
            instance: param(map, "instance"),
            pod: param(map, "pod"),
            status: param(map, "status"),
            min_latency_ms: param(map, "min_latency_ms"),
            after: param(map, "after"),
        }
    }

    pub fn to_query(&self, now: tollgate_domain::Timestamp) -> Result<LogQuery, AppError> {
        let (from, to) = self.range.resolve(now)?;
        let min_latency_ms = match self.min_latency_ms.as_str() {
            "" => None,
            s => Some(s.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
                AppError::invalid(
                    "min_latency_ms",
                    "enter a whole number of milliseconds, such as 1000",
                )
            })?),
        };
        let query = LogQuery {
            from,
            to,
            key: parse::id("key", Some(&self.key))?,
            team: parse::id("team", Some(&self.team))?,
            model: non_empty(&self.model),
            instance: non_empty(&self.instance),
            pod: non_empty(&self.pod),
            status: parse::status(Some(&self.status))?,
            min_latency_ms,
            after: parse::cursor(Some(&self.after))?,
            limit: 50,
        };
        query.validate()?;
        Ok(query)
    }

    /// The filters, without the cursor: what "Older" and "Newest" keep.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = self.range.pairs();
        pairs.extend([
            ("key", self.key.clone()),
            ("team", self.team.clone()),
            ("model", self.model.clone()),
            ("instance", self.instance.clone()),
            ("pod", self.pod.clone()),
            ("status", self.status.clone()),
            ("min_latency_ms", self.min_latency_ms.clone()),
        ]);
        pairs
    }
}

#[component]
pub fn LogsPage() -> impl IntoView {
    let query_map = use_query_map();
    let params = Memo::new(move |_| LogParams::read(&query_map.read()));
    let options = Resource::new(|| (), |_| get_spend_options());
    let page = Resource::new(
        move || params.get(),
        |p| async move { get_request_log(p.to_query(now())?).await },
    );
    view! {
        <PageHeader title="Logs" description="Every request the gateway served, newest first. Prompts and completions are kept only for keys and teams that store them (off by default); the detail view shows them."/>
        <Suspense fallback=|| view! { <p class="text-sm text-zinc-500">"Loading…"</p> }>
            {move || options.get().map(|o| match o {
                Ok(o) => view! { <LogForm params=params.get() options=o/> }.into_any(),
                Err(e) => view! { <p role="alert" class="field-error">{error_text(&e)}</p> }.into_any(),
            })}
        </Suspense>
        <Transition fallback=|| view! { <p class="mt-6 text-sm text-zinc-500">"Loading…"</p> }>
            {move || page.get().map(|r| match r {
                Ok(p) => view! { <LogTable page=p params=params.get_untracked()/> }.into_any(),
                Err(e) => view! {
                    <div role="alert" data-testid="logs-error" class="mt-6 rounded-md bg-red-50 px-3 py-2 text-sm text-red-700 dark:bg-red-950/40 dark:text-red-300">
                        <p>{error_text(&e)}</p>
                        <a class="mt-1 inline-block underline" href="/logs">"Show the newest requests"</a>
                    </div>
                }.into_any(),
            })}
        </Transition>
    }
}

const STATUSES: [(&str, &str); 12] = [
    ("", "Any status"),
    ("success", "Succeeded (below 400)"),
    ("error", "Failed (400 or more)"),
    ("400", "400"),
    ("401", "401"),
    ("403", "403"),
    ("404", "404"),
    ("429", "429 (rate limited)"),
    ("500", "500"),
    ("502", "502"),
    ("503", "503"),
    ("504", "504"),
];

#[component]
fn LogForm(params: LogParams, options: SpendOptions) -> impl IntoView {
    let all = |label: &str, items: Vec<(String, String)>| {
        std::iter::once((String::new(), label.to_owned()))
            .chain(items)
            .collect::<Vec<_>>()
    };
    let teams: Vec<(String, String)> = options
        .teams
        .iter()
        .map(|(id, n)| (id.to_string(), n.clone()))
        .collect();
    let teams = if options.all_teams {
        all("All teams", teams)
    } else {
        teams
    };
    let models = all(
        "All models",
        options
            .models
            .iter()
            .map(|m| (m.clone(), m.clone()))
            .collect(),
    );
    let instances = all(
        "All instances",
        options
            .instances
            .iter()
            .map(|m| (m.clone(), m.clone()))
            .collect(),
    );
    let statuses = STATUSES
        .iter()
        .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
        .collect();
    view! {
        <Form method="GET" action="/logs">
            <div class="card flex flex-wrap items-end gap-4 p-4" data-testid="logs-form">
                <RangeFields current=params.range.clone() any_time=true/>
                <Select name="team" label="Team" current=params.team.clone() options=teams/>
                <Select name="model" label="Model" current=params.model.clone() options=models/>
                <Select name="instance" label="Instance" current=params.instance.clone() options=instances/>
                <Select name="status" label="Status" current=params.status.clone() options=statuses/>
                <div class="grid w-full grid-cols-1 gap-4 sm:grid-cols-3">
                    <TextFilter name="key" label="Key id" current=params.key.clone() placeholder="a key's UUID"/>
                    <TextFilter name="pod" label="Pod" current=params.pod.clone()/>
                    <div class="space-y-1.5">
                        <label class="label" for="min_latency_ms">"Slower than (ms)"</label>
                        <input class="input" id="min_latency_ms" name="min_latency_ms" type="number" min="0" step="1"
                            value=params.min_latency_ms.clone() placeholder="1000"/>
                    </div>
                </div>
                <div class="flex gap-2">
                    <button type="submit" class="btn-primary">"Show"</button>
                    <a href="/logs" class="btn-secondary">"Reset"</a>
                </div>
            </div>
        </Form>
    }
}

/// A status as a coloured badge: green below 400, amber 4xx, red 5xx.
pub(crate) fn status_badge(status: i32, error_kind: Option<String>) -> impl IntoView {
    let class = match status {
        s if s < 400 => {
            "badge bg-green-100 text-green-800 ring-green-200 dark:bg-green-500/10 dark:text-green-300"
        }
        s if s < 500 => {
            "badge bg-amber-100 text-amber-900 ring-amber-300 dark:bg-amber-500/10 dark:text-amber-300"
        }
        _ => "badge bg-red-100 text-red-800 ring-red-200 dark:bg-red-500/10 dark:text-red-300",
    };
    let title = error_kind.clone().unwrap_or_default();
    let suffix = error_kind.map(|k| format!(" {k}"));
    view! { <span class=class title=title>{status}{suffix}</span> }
}

const TH: &str = "px-3 py-2 font-medium";
const TD: &str = "px-3 py-2 align-top";
const NUM: &str = "px-3 py-2 align-top text-right tabular-nums";

#[component]
fn LogTable(page: LogPage, params: LogParams) -> impl IntoView {
    let LogPage { entries, next } = page;
    let paged = !params.after.is_empty();
    let pairs = params.pairs();
    let older = next.map(|c| {
        let mut p = pairs.clone();
        p.push(("after", c.encode()));
        link("/logs", &p)
    });
    let newest = paged.then(|| link("/logs", &pairs));
    let nav = view! {
        <nav aria-label="Pages" class="mt-4 flex items-center justify-between text-sm">
            {newest.map(|href| view! { <a class="btn-secondary" href=href data-testid="logs-newest">"← Newest"</a> })}
            <span></span>
            {older.map(|href| view! { <a class="btn-secondary" href=href data-testid="logs-older">"Older →"</a> })}
        </nav>
    };
    if entries.is_empty() {
        let headline = if paged {
            "No older requests match these filters."
        } else {
            "No requests match these filters yet."
        };
        return view! {
            <div class="card mt-6 border-dashed p-8 text-center" data-testid="empty-state">
                <p class="text-base font-medium">{headline}</p>
                <p class="mt-2 text-sm text-zinc-600 dark:text-zinc-400">"Requests appear here within a few seconds of passing through the gateway."</p>
            </div>
            {nav}
        }.into_any();
    }
    view! {
        <div class="card mt-6 overflow-x-auto p-0">
            <table class="w-full text-sm" data-testid="logs-table">
                <thead class="bg-zinc-50 text-left text-xs uppercase text-zinc-500 dark:bg-zinc-900">
                    <tr>
                        <th scope="col" class=TH>"Time (UTC)"</th><th scope="col" class=TH>"Key"</th><th scope="col" class=TH>"Model"</th>
                        <th scope="col" class=TH>"Instance / pod"</th><th scope="col" class=TH>"Status"</th>
                        <th scope="col" class=format!("{TH} text-right")>"Tokens in / out"</th><th scope="col" class=format!("{TH} text-right")>"Cost"</th>
                        <th scope="col" class=format!("{TH} text-right")>"Latency"</th><th scope="col" class=format!("{TH} text-right")>"First token"</th>
                    </tr>
                </thead>
                <tbody>
                    {entries.into_iter().map(|e| view! { <LogRow entry=e/> }).collect_view()}
                </tbody>
            </table>
        </div>
        {nav}
    }.into_any()
}

#[component]
fn LogRow(entry: LogEntry) -> impl IntoView {
    let e = entry;
    let href = format!("/logs/{}", url_encode(&e.request_id));
    let key = e
        .key_label
        .clone()
        .or_else(|| e.key_id.map(|k| k.to_string()))
        .unwrap_or_else(|| "—".to_owned());
    view! {
        <tr class="border-t border-zinc-100 hover:bg-zinc-50 dark:border-zinc-800 dark:hover:bg-zinc-800/50" data-testid="log-row">
            <td class="whitespace-nowrap px-3 py-2 align-top">
                <a class="font-medium text-indigo-700 hover:underline dark:text-indigo-300" href=href>{e.ts.display_minutes().trim_end_matches(" UTC").to_owned()}</a>
            </td>
            <td class=TD>{key}</td>
            <td class=TD>
                <span class="font-medium">{e.route_model.clone()}</span>
                {e.upstream_model.clone().filter(|u| *u != e.route_model).map(|u| view! { <span class="block text-xs text-zinc-500">{format!("→ {u}")}</span> })}
            </td>
            <td class=TD>{e.instance.clone()}<span class="block text-xs text-zinc-500">{e.pod.clone()}</span></td>
            <td class=TD>{status_badge(e.status, e.error_kind.clone())}</td>
            <td class=NUM>{format!("{} / {}", thousands(e.prompt_tokens), thousands(e.completion_tokens))}</td>
            <td class=NUM>{money(e.cost)}{e.unpriced.then(|| view! { <span class="badge ml-1">"unpriced"</span> })}</td>
            <td class=NUM>{duration_ms(e.latency_ms)}</td>
            <td class=NUM>{duration_ms(e.ttft_ms)}</td>
        </tr>
    }
}
