//! A small bar sparkline of daily spend (or requests, when nothing was priced), rendered on the
//! server as SVG; each bar's native tooltip gives its day and numbers.

use super::format::{money, thousands};
use leptos::prelude::*;
use tollgate_domain::Timestamp;
use tollgate_domain::analytics::SpendMetrics;

const W: f64 = 300.0;
const H: f64 = 48.0;

#[component]
pub fn Sparkline(
    /// One entry per day, oldest first.
    days: Vec<(Timestamp, SpendMetrics)>,
    /// Where the sparkline leads (the spend page for the same days).
    href: String,
) -> impl IntoView {
    let by_cost = days.iter().any(|(_, m)| m.cost.0 > 0);
    let value = move |m: &SpendMetrics| {
        if by_cost {
            m.cost.0 as f64
        } else {
            m.requests as f64
        }
    };
    let max = days
        .iter()
        .map(|(_, m)| value(m))
        .fold(0.0, f64::max)
        .max(1.0);
    let n = days.len().max(1) as f64;
    let band = W / n;
    let what = if by_cost { "Spend" } else { "Requests" };
    let label = format!("{what} per day, last {} days (UTC)", days.len());
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, (day, m))| {
            let h = (value(m) / max * (H - 2.0)).max(if m.requests > 0 { 1.5 } else { 0.0 });
            let tip = format!(
                "{}: {} · {} requests",
                day.display_date(),
                money(m.cost),
                thousands(m.requests)
            );
            view! {
                <rect x={i as f64 * band + band * 0.15} y={H - h} width={band * 0.7} height=h
                    class="fill-indigo-500 dark:fill-indigo-400"/>
                <rect x={i as f64 * band} y="0" width=band height=H class="fill-transparent"><title>{tip}</title></rect>
            }
        })
        .collect_view();
    view! {
        <a href=href class="block rounded-md hover:bg-zinc-50 dark:hover:bg-zinc-800/60" data-testid="sparkline">
            <svg viewBox=format!("0 0 {W} {H}") class="h-12 w-full" preserveAspectRatio="none" role="img" aria-label=label.clone()>
                <title>{label.clone()}</title>
                <line x1="0" x2=W y1={H - 0.5} y2={H - 0.5} class="stroke-zinc-200 dark:stroke-zinc-700" stroke-width="1"/>
                {bars}
            </svg>
            <span class="text-xs text-zinc-500">{label}</span>
        </a>
    }
}
