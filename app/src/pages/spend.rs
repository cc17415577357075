//! Spend over time: the question lives in the URL (range, granularity, grouping, filters), so a
//! link or a reload shows the same view; four charts and a sortable table with CSV answer it.

use crate::components::chart::{ChartKind, OTHER_COLOR, PALETTE, Series, TimeChart, Unit};
use crate::components::empty::PageHeader;
use crate::components::format::{error_text, link, money, thousands};
use crate::components::range::{RangeParams, non_empty, now, param, preset};
use crate::components::spend_form::SpendForm;
use crate::components::spend_table::{SpendRow, SpendTable};
use crate::error::AppError;
use crate::server_fns::analytics::{get_spend, get_spend_options};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;
use std::collections::HashMap;
use tollgate_domain::analytics::param as parse;
use tollgate_domain::analytics::{Granularity, GroupBy, SpendFilters, SpendQuery, SpendSeries};
use tollgate_domain::time::MS_PER_DAY;

/// The spend page's query string, as typed (empty means absent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpendParams {
    pub range: RangeParams,
    pub granularity: String,
    pub group_by: String,
    pub team: String,
    pub model: String,
    pub instance: String,
    pub key: String,
    pub user: String,
    pub provider: String,
    pub deployment: String,
}

impl SpendParams {
    pub fn read(map: &ParamsMap) -> SpendParams {
        SpendParams {
            range: RangeParams::read(map),
            granularity: param(map, "granularity"),
            group_by: param(map, "group_by"),
            team: param(map, "team"),
            model: param(map, "model"),
            instance: param(map, "instance"),
            key: param(map, "key"),
            user: param(map, "user"),
            provider: param(map, "provider"),
            deployment: param(map, "deployment"),
        }
    }

    /// The question these parameters ask at `now`. Without a range: the last 30 days. Hourly
    /// buckets asked for a range longer than 7 days fall back to the range's default.
    pub fn to_query(&self, now: tollgate_domain::Timestamp) -> Result<SpendQuery, AppError> {
        let (from, to) = match self.range.resolve(now)? {
            (None, None) => preset("30d", now).unzip(),
            bounds => bounds,
        };
        let to = to.unwrap_or_else(|| now.start_of_day().plus_millis(MS_PER_DAY));
        let from = from.unwrap_or_else(|| to.plus_millis(-30 * MS_PER_DAY));
        let default = SpendQuery::default_granularity(from, to);
        let granularity = match parse::granularity(Some(&self.granularity))? {
            None => default,
            Some(Granularity::Hour) if to.0 - from.0 > 7 * MS_PER_DAY => default,
            Some(g) => g,
        };
        let query = SpendQuery {
            from,
            to,
            granularity,
            group_by: parse::group_by(Some(&self.group_by))?,
            filters: SpendFilters {
                key: parse::id("key", Some(&self.key))?,
                team: parse::id("team", Some(&self.team))?,
                user: parse::id("user", Some(&self.user))?,
                model: non_empty(&self.model),
                provider: non_empty(&self.provider),
                instance: non_empty(&self.instance),
                deployment: parse::id("deployment", Some(&self.deployment))?,
            },
        };
        query.validate()?;
        Ok(query)
    }

    /// The filters the request log understands, for links from a row to its requests.
    fn log_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = self.range.pairs();
        pairs.extend([
            ("key", self.key.clone()),
            ("team", self.team.clone()),
            ("model", self.model.clone()),
            ("instance", self.instance.clone()),
        ]);
        pairs
    }
}

#[component]
pub fn SpendPage() -> impl IntoView {
    let query_map = use_query_map();
    let params = Memo::new(move |_| SpendParams::read(&query_map.read()));
    let options = Resource::new(|| (), |_| get_spend_options());
    let series = Resource::new(
        move || params.get(),
        |p| async move {
            let query = p.to_query(now())?;
            get_spend(query).await
        },
    );
    view! {
        <PageHeader title="Spend" description="What each key, team, model and instance costs over time. Times are UTC."/>
        <Suspense fallback=|| view! { <p class="text-sm text-zinc-500">"Loading…"</p> }>
            {move || options.get().map(|o| match o {
                Ok(o) => view! { <SpendForm params=params.get() options=o/> }.into_any(),
                Err(e) => view! { <p role="alert" class="field-error">{error_text(&e)}</p> }.into_any(),
            })}
        </Suspense>
        <Transition fallback=|| view! { <p class="mt-6 text-sm text-zinc-500">"Loading…"</p> }>
            {move || series.get().map(|r| match r {
                Ok(s) => view! { <SpendResults series=s params=params.get_untracked()/> }.into_any(),
                Err(e) => view! {
                    <p role="alert" data-testid="spend-error" class="field-error mt-6 rounded-md bg-red-50 px-3 py-2 dark:bg-red-950/40">
                        {error_text(&e)}
                    </p>
                }.into_any(),
            })}
        </Transition>
    }
}

fn stat(label: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="card p-4">
            <div class="text-xs font-medium uppercase tracking-wide text-zinc-500">{label}</div>
            <div class="mt-1 text-xl font-semibold tabular-nums">{value}</div>
        </div>
    }
}

/// The series' spend per group, stacked: the eight largest groups, then "Other".
fn spend_series(
    s: &SpendSeries,
    index: &HashMap<tollgate_domain::Timestamp, usize>,
) -> Vec<Series> {
    let shown = s.groups.len().min(PALETTE.len());
    let mut out: Vec<Series> = s.groups[..shown]
        .iter()
        .zip(PALETTE)
        .map(|(g, color)| Series {
            label: if s.query.group_by.is_none() {
                "Spend".to_owned()
            } else {
                g.label.clone()
            },
            color,
            values: vec![None; s.buckets.len()],
        })
        .collect();
    if s.groups.len() > shown {
        out.push(Series {
            label: format!("Other ({} more)", s.groups.len() - shown),
            color: OTHER_COLOR,
            values: vec![None; s.buckets.len()],
        });
    }
    for p in &s.points {
        if let (Some(b), Some(series)) = (index.get(&p.bucket), out.get_mut(p.group.min(shown))) {
            let cell = &mut series.values[*b];
            *cell = Some(cell.unwrap_or(0.0) + p.metrics.cost.0 as f64);
        }
    }
    out
}

fn per_bucket(
    s: &SpendSeries,
    label: &str,
    color: &'static str,
    f: impl Fn(&tollgate_domain::analytics::SpendMetrics) -> Option<f64>,
) -> Series {
    Series {
        label: label.to_owned(),
        color,
        values: s.per_bucket.iter().map(f).collect(),
    }
}

#[component]
fn SpendResults(series: SpendSeries, params: SpendParams) -> impl IntoView {
    let q = series.query.clone();
    let last_day = q.to.plus_millis(-1);
    let span = format!(
        "{} to {} (UTC), by {}",
        q.from.display_date(),
        last_day.display_date(),
        q.granularity.as_str()
    );
    let fell_back = (params.granularity == "hour" && q.granularity != Granularity::Hour).then_some(
        "Hourly buckets serve ranges up to 7 days; this range is shown by day or month.",
    );
    let t = series.totals;
    if t.requests == 0 {
        return view! {
            <p class="mt-6 text-sm text-zinc-600 dark:text-zinc-400" data-testid="spend-span">{span}</p>
            <div class="card mt-4 border-dashed p-8 text-center" data-testid="empty-state">
                <p class="text-base font-medium">"No requests in this range."</p>
                <p class="mt-2 text-sm text-zinc-600 dark:text-zinc-400">"Spend appears here within a few seconds of a request through the gateway. Try a longer range or fewer filters."</p>
            </div>
        }.into_any();
    }
    let index: HashMap<_, _> = series
        .buckets
        .iter()
        .enumerate()
        .map(|(i, b)| (*b, i))
        .collect();
    let g = q.granularity;
    let buckets = series.buckets.clone();
    let spend = spend_series(&series, &index);
    let tokens = vec![
        per_bucket(&series, "Prompt (in)", PALETTE[0], |m| {
            Some(m.prompt_tokens as f64)
        }),
        per_bucket(&series, "Completion (out)", PALETTE[1], |m| {
            Some(m.completion_tokens as f64)
        }),
    ];
    let requests = vec![
        per_bucket(&series, "Succeeded", PALETTE[0], |m| {
            Some((m.requests - m.errors) as f64)
        }),
        per_bucket(&series, "Errors", PALETTE[3], |m| Some(m.errors as f64)),
    ];
    let latency = vec![
        per_bucket(&series, "p50", PALETTE[2], |m| {
            m.latency.quantile(0.5).map(|v| v as f64)
        }),
        per_bucket(&series, "p95", PALETTE[1], |m| {
            m.latency.quantile(0.95).map(|v| v as f64)
        }),
        per_bucket(&series, "p99", PALETTE[3], |m| {
            m.latency.quantile(0.99).map(|v| v as f64)
        }),
    ];
    let spend_title = match q.group_by {
        Some(gb) => format!("Spend by {}", gb.title().to_lowercase()),
        None => "Spend".to_owned(),
    };
    let unpriced_note = if t.cost.0 == 0 {
        "No request in this range had a price, so spend is $0."
    } else {
        ""
    };
    let log_pairs = params.log_pairs();
    let rows: Vec<SpendRow> = series
        .groups
        .iter()
        .map(|grp| {
            let dim = match q.group_by {
                None => Some(None),
                Some(GroupBy::Key) => Some(Some("key")),
                Some(GroupBy::Team) => Some(Some("team")),
                Some(GroupBy::Model) => Some(Some("model")),
                Some(GroupBy::Instance) => Some(Some("instance")),
                Some(_) => None,
            };
            let logs = dim.and_then(|dim| match dim {
                None => Some(link("/logs", &log_pairs)),
                Some(_) if grp.key.is_empty() => None,
                Some(d) => {
                    let mut pairs: Vec<_> =
                        log_pairs.iter().filter(|(k, _)| *k != d).cloned().collect();
                    pairs.push((d, grp.key.clone()));
                    Some(link("/logs", &pairs))
                }
            });
            SpendRow {
                group: grp.clone(),
                logs,
            }
        })
        .collect();
    let file_name = format!(
        "tollgate-spend-{}-{}.csv",
        q.from.display_date(),
        last_day.display_date()
    );
    let group_title = q.group_by.map_or("Group", GroupBy::title);
    view! {
        <p class="mt-6 text-sm text-zinc-600 dark:text-zinc-400" data-testid="spend-span">{span}</p>
        {fell_back.map(|n| view! { <p role="status" class="mt-1 text-sm text-amber-700 dark:text-amber-300">{n}</p> })}
        <div class="mt-4 grid grid-cols-2 gap-4 lg:grid-cols-5" data-testid="spend-totals">
            {stat("Spend", money(t.cost))}
            {stat("Requests", thousands(t.requests))}
            {stat("Errors", thousands(t.errors))}
            {stat("Prompt tokens", thousands(t.prompt_tokens))}
            {stat("Completion tokens", thousands(t.completion_tokens))}
        </div>
        <div class="mt-6 space-y-4">
            <TimeChart title=spend_title unit=Unit::Dollars kind=ChartKind::Stacked granularity=g buckets=buckets.clone() series=spend note=unpriced_note/>
            <TimeChart title="Tokens in and out".to_owned() unit=Unit::Tokens kind=ChartKind::Stacked granularity=g buckets=buckets.clone() series=tokens/>
            <TimeChart title="Requests and errors".to_owned() unit=Unit::Requests kind=ChartKind::Stacked granularity=g buckets=buckets.clone() series=requests/>
            <TimeChart title="Latency p50, p95 and p99".to_owned() unit=Unit::Millis kind=ChartKind::Lines granularity=g buckets=buckets series=latency
                note="Percentiles are estimates: latencies are counted in buckets (up to 50 ms, 100 ms, 250 ms, 500 ms, 1 s, 2 s, 5 s, …) and interpolated within the bucket."/>
        </div>
        <SpendTable group_title=group_title rows=rows file_name=file_name/>
    }.into_any()
}
