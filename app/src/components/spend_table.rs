//! The table under the spend charts: one row per group, sortable by any column in the browser,
//! and a CSV download of exactly its rows in the order shown.

use super::format::{duration_ms, money, percent, thousands, url_encode};
use leptos::prelude::*;
use std::cmp::Ordering;
use tollgate_domain::analytics::{SpendGroup, SpendMetrics, groups_csv};

/// A row: the group and, when the request log can filter by it, a link to its requests.
#[derive(Clone, Debug, PartialEq)]
pub struct SpendRow {
    pub group: SpendGroup,
    pub logs: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    Label,
    Requests,
    Errors,
    ErrorRate,
    Prompt,
    Completion,
    Cost,
    P50,
    P95,
}

const COLS: [(Col, &str); 9] = [
    (Col::Label, ""),
    (Col::Requests, "Requests"),
    (Col::Errors, "Errors"),
    (Col::ErrorRate, "Error rate"),
    (Col::Prompt, "Prompt tokens"),
    (Col::Completion, "Completion tokens"),
    (Col::Cost, "Cost"),
    (Col::P50, "p50 latency"),
    (Col::P95, "p95 latency"),
];

fn compare(col: Col, a: &SpendGroup, b: &SpendGroup) -> Ordering {
    let (x, y) = (&a.totals, &b.totals);
    let q = |m: &SpendMetrics, p: f64| m.latency.quantile(p).unwrap_or(-1);
    let rate = |m: &SpendMetrics| m.error_rate().unwrap_or(-1.0);
    match col {
        Col::Label => a.label.to_lowercase().cmp(&b.label.to_lowercase()),
        Col::Requests => x.requests.cmp(&y.requests),
        Col::Errors => x.errors.cmp(&y.errors),
        Col::ErrorRate => rate(x).total_cmp(&rate(y)),
        Col::Prompt => x.prompt_tokens.cmp(&y.prompt_tokens),
        Col::Completion => x.completion_tokens.cmp(&y.completion_tokens),
        Col::Cost => x.cost.cmp(&y.cost),
        Col::P50 => q(x, 0.5).cmp(&q(y, 0.5)),
        Col::P95 => q(x, 0.95).cmp(&q(y, 0.95)),
    }
}

/// The CSV of `rows` as shown: the same columns, numbers without formatting.
pub fn table_csv(group_title: &str, rows: &[SpendRow]) -> String {
    groups_csv(group_title, rows.iter().map(|r| &r.group))
}

const TH: &str = "px-3 py-2 font-medium";
const TD: &str = "px-3 py-2 text-right tabular-nums";

#[component]
pub fn SpendTable(
    /// The grouping's heading ("Model", or "Group" when not grouped).
    group_title: &'static str,
    /// In the server's order (cost, highest first).
    rows: Vec<SpendRow>,
    /// The download's file name.
    file_name: String,
) -> impl IntoView {
    // Cost, highest first, is the server's order: the table starts there.
    let sort = RwSignal::new((Col::Cost, true));
    let rows = StoredValue::new(rows);
    let sorted = Memo::new(move |_| {
        let (col, desc) = sort.get();
        let mut list = rows.get_value();
        if (col, desc) != (Col::Cost, true) {
            list.sort_by(|a, b| {
                let o = compare(col, &a.group, &b.group);
                if desc { o.reverse() } else { o }
            });
        }
        list
    });
    let csv_href = move || {
        format!(
            "data:text/csv;charset=utf-8,{}",
            url_encode(&table_csv(group_title, &sorted.get()))
        )
    };
    let header = COLS
        .iter()
        .map(|(col, title)| {
            let col = *col;
            let title = if col == Col::Label { group_title } else { title };
            let aria = move || match sort.get() {
                (c, true) if c == col => "descending",
                (c, false) if c == col => "ascending",
                _ => "none",
            };
            let arrow = move || match sort.get() {
                (c, true) if c == col => "↓",
                (c, false) if c == col => "↑",
                _ => "",
            };
            let align = if col == Col::Label { "text-left" } else { "text-right" };
            view! {
                <th scope="col" class=format!("{TH} {align}") aria-sort=aria>
                    <button type="button" class="inline-flex items-center gap-1 uppercase hover:text-zinc-900 dark:hover:text-zinc-100"
                        on:click=move |_| sort.update(|s| *s = if s.0 == col { (col, !s.1) } else { (col, col != Col::Label) })>
                        {title}<span aria-hidden="true" class="w-2">{arrow}</span>
                    </button>
                </th>
            }
        })
        .collect_view();
    view! {
        <div class="mb-2 mt-8 flex items-center justify-between gap-4">
            <h2 class="text-sm font-semibold uppercase tracking-wide text-zinc-500">{format!("By {}", group_title.to_lowercase())}</h2>
            <a class="btn-secondary" href=csv_href download=file_name data-testid="csv-download">"Download CSV"</a>
        </div>
        <div class="card overflow-x-auto p-0">
            <table class="w-full text-sm" data-testid="spend-table">
                <thead class="bg-zinc-50 text-xs text-zinc-500 dark:bg-zinc-900">
                    <tr>{header}</tr>
                </thead>
                <tbody>
                    {move || sorted.get().into_iter().map(|r| {
                        let t = r.group.totals;
                        let label = r.group.label.clone();
                        view! {
                            <tr class="border-t border-zinc-100 dark:border-zinc-800">
                                <th scope="row" class="px-3 py-2 text-left font-medium" title=r.group.key.clone()>
                                    {match r.logs {
                                        Some(href) => view! { <a class="hover:underline" href=href>{label}</a> }.into_any(),
                                        None => view! { <span>{label}</span> }.into_any(),
                                    }}
                                </th>
                                <td class=TD>{thousands(t.requests)}</td>
                                <td class=TD>{thousands(t.errors)}</td>
                                <td class=TD>{percent(t.error_rate())}</td>
                                <td class=TD>{thousands(t.prompt_tokens)}</td>
                                <td class=TD>{thousands(t.completion_tokens)}</td>
                                <td class=TD>{money(t.cost)}</td>
                                <td class=TD>{duration_ms(t.latency.quantile(0.5))}</td>
                                <td class=TD>{duration_ms(t.latency.quantile(0.95))}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
