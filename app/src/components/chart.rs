//! One time-series chart as server-rendered SVG: stacked bars or lines over buckets, with axes,
//! tick labels in the chart's unit, a legend, a native tooltip on every bar and point (works
//! before hydration) and, after hydration, a readout of the column under the pointer.

use super::format::{compact, duration_ms, money, thousands};
use leptos::prelude::*;
use tollgate_domain::analytics::Granularity;
use tollgate_domain::{Micros, Timestamp};

/// Series colours, one per charted group ([`tollgate_domain::analytics::CHART_GROUPS`]),
/// readable on white and on zinc-900 (Tableau 10); "Other" is [`OTHER_COLOR`].
pub const PALETTE: [&str; tollgate_domain::analytics::CHART_GROUPS] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
];
pub const OTHER_COLOR: &str = "#9ca3af";

/// What the values measure, which decides tick labels and readouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Micro-dollars, shown as dollars.
    Dollars,
    Tokens,
    Requests,
    Millis,
}

impl Unit {
    pub fn value(self, v: f64) -> String {
        match self {
            Unit::Dollars => money(Micros(v.round() as i64)),
            Unit::Tokens | Unit::Requests => thousands(v.round() as i64),
            Unit::Millis => duration_ms(Some(v.round() as i64)),
        }
    }

    fn axis_title(self) -> &'static str {
        match self {
            Unit::Dollars => "USD",
            Unit::Tokens => "tokens",
            Unit::Requests => "requests",
            Unit::Millis => "latency",
        }
    }

    /// A tick label; `step` tells how many decimals matter.
    fn tick(self, v: f64, step: f64) -> String {
        match self {
            Unit::Dollars => {
                let (d, s) = (v / 1e6, step / 1e6);
                if d >= 1_000.0 {
                    format!("${}", compact(d))
                } else {
                    let decimals = if s >= 1.0 {
                        0
                    } else {
                        (-s.log10()).ceil().clamp(2.0, 6.0) as usize
                    };
                    format!("${d:.decimals$}")
                }
            }
            Unit::Tokens | Unit::Requests => compact(v),
            Unit::Millis if step >= 1_000.0 => format!("{} s", compact(v / 1_000.0)),
            Unit::Millis => format!("{} ms", compact(v)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartKind {
    /// Series stacked bottom to top in the order given.
    Stacked,
    /// One line per series; a missing value breaks the line.
    Lines,
}

/// One series: a value per bucket (`None`: no data).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub label: String,
    pub color: &'static str,
    pub values: Vec<Option<f64>>,
}

/// A bucket's label on the axis (short) and in tooltips (full, UTC).
pub fn bucket_label(g: Granularity, t: Timestamp, full: bool) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let c = t.to_civil();
    let month = MONTHS
        .get(c.month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("?");
    match (g, full) {
        (Granularity::Hour, false) => format!("{month} {} {:02}:00", c.day, c.hour),
        (Granularity::Hour, true) => format!(
            "{} {:02}:00–{:02}:00 UTC",
            t.display_date(),
            c.hour,
            (c.hour + 1) % 24
        ),
        (Granularity::Day, false) => format!("{month} {}", c.day),
        (Granularity::Day, true) => format!("{} (UTC)", t.display_date()),
        (Granularity::Month, _) => format!("{month} {}", c.year),
    }
}

/// A round step and top for an axis reaching `max`, about four gridlines.
fn nice_scale(max: f64, integers: bool) -> (f64, f64) {
    let max = if max > 0.0 { max } else { 1.0 };
    let raw = max / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let mut step = mag
        * if norm <= 1.0 {
            1.0
        } else if norm <= 2.0 {
            2.0
        } else if norm <= 5.0 {
            5.0
        } else {
            10.0
        };
    if integers {
        step = step.max(1.0);
    }
    (step, (max / step).ceil() * step)
}

const W: f64 = 720.0;
const H: f64 = 220.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 18.0;
const BOTTOM: f64 = 26.0;
const PLOT_W: f64 = W - LEFT - RIGHT;
const PLOT_H: f64 = H - TOP - BOTTOM;
const AXIS_TEXT: &str = "fill-zinc-500 dark:fill-zinc-400";

/// A chart of `series` over `buckets`.
#[component]
pub fn TimeChart(
    /// The heading and the accessible name.
    title: String,
    unit: Unit,
    kind: ChartKind,
    granularity: Granularity,
    buckets: Vec<Timestamp>,
    series: Vec<Series>,
    /// A line under the chart (for example how a value is estimated).
    #[prop(optional)]
    note: &'static str,
) -> impl IntoView {
    let n = buckets.len().max(1);
    let value = |s: &Series, i: usize| s.values.get(i).copied().flatten();
    let column_total = |i: usize| series.iter().filter_map(|s| value(s, i)).sum::<f64>();
    let max = match kind {
        ChartKind::Stacked => (0..buckets.len()).map(column_total).fold(0.0, f64::max),
        ChartKind::Lines => series
            .iter()
            .flat_map(|s| s.values.iter().flatten())
            .copied()
            .fold(0.0, f64::max),
    };
    let integers = matches!(unit, Unit::Tokens | Unit::Requests);
    let (step, top) = nice_scale(max, integers);
    let y = move |v: f64| TOP + PLOT_H - (v / top) * PLOT_H;
    let band = PLOT_W / n as f64;
    let bar_w = if band < 4.0 { band } else { band * 0.75 };
    let label_every = n.div_ceil(8);

    // What each column holds, for its tooltip and the readout.
    let summaries: Vec<String> = (0..buckets.len())
        .map(|i| {
            let mut parts: Vec<String> = series
                .iter()
                .map(|s| {
                    format!(
                        "{}: {}",
                        s.label,
                        value(s, i).map_or("—".to_owned(), |v| unit.value(v))
                    )
                })
                .collect();
            if kind == ChartKind::Stacked && series.len() > 1 {
                parts.push(format!("Total: {}", unit.value(column_total(i))));
            }
            format!(
                "{} · {}",
                bucket_label(granularity, buckets[i], true),
                parts.join(" · ")
            )
        })
        .collect();

    let hover = RwSignal::new(None::<usize>);
    let grid = (0..=((top / step).round() as usize)).map(|k| {
        let v = k as f64 * step;
        let gy = y(v);
        view! {
            <line x1=LEFT x2={W - RIGHT} y1=gy y2=gy class="stroke-zinc-200 dark:stroke-zinc-800" stroke-width="1"/>
            <text x={LEFT - 6.0} y={gy + 3.5} text-anchor="end" font-size="10" class=AXIS_TEXT>{unit.tick(v, step)}</text>
        }
    }).collect_view();
    let x_labels = buckets.iter().enumerate().filter(|(i, _)| i % label_every == 0).map(|(i, b)| {
        let x = LEFT + (i as f64 + 0.5) * band;
        view! { <text x=x y={H - 8.0} text-anchor="middle" font-size="10" class=AXIS_TEXT>{bucket_label(granularity, *b, false)}</text> }
    }).collect_view();

    let columns = buckets.iter().enumerate().map(|(i, b)| {
        let x0 = LEFT + i as f64 * band;
        let marks = match kind {
            ChartKind::Stacked => {
                let mut base = 0.0;
                series.iter().filter_map(|s| {
                    let v = value(s, i).filter(|v| *v > 0.0)?;
                    let (y_top, y_bottom) = (y(base + v), y(base));
                    base += v;
                    let tip = format!("{} · {}: {}", bucket_label(granularity, *b, true), s.label, unit.value(v));
                    Some(view! {
                        <rect data-bar="" x={x0 + (band - bar_w) / 2.0} y=y_top width=bar_w height={(y_bottom - y_top).max(0.5)} fill=s.color>
                            <title>{tip}</title>
                        </rect>
                    })
                }).collect_view().into_any()
            }
            ChartKind::Lines => series.iter().filter_map(|s| {
                let v = value(s, i)?;
                let tip = format!("{} · {}: {}", bucket_label(granularity, *b, true), s.label, unit.value(v));
                Some(view! {
                    <circle data-point="" cx={x0 + band / 2.0} cy={y(v)} r="2.5" fill=s.color><title>{tip}</title></circle>
                })
            }).collect_view().into_any(),
        };
        let summary = summaries[i].clone();
        view! {
            <g on:mouseenter=move |_| hover.set(Some(i))>
                <rect x=x0 y=TOP width=band height=PLOT_H
                    class=move || if hover.get() == Some(i) { "fill-zinc-500/10" } else { "fill-transparent" }>
                    <title>{summary}</title>
                </rect>
                {marks}
            </g>
        }
    }).collect_view();

    let lines = (kind == ChartKind::Lines).then(|| {
        series.iter().map(|s| {
            let mut d = String::new();
            let mut pen_down = false;
            for i in 0..buckets.len() {
                match value(s, i) {
                    Some(v) => {
                        let cmd = if pen_down { 'L' } else { 'M' };
                        d.push_str(&format!("{cmd}{:.1} {:.1} ", LEFT + (i as f64 + 0.5) * band, y(v)));
                        pen_down = true;
                    }
                    None => pen_down = false,
                }
            }
            view! { <path d=d fill="none" stroke=s.color stroke-width="2" stroke-linejoin="round" pointer-events="none"/> }
        }).collect_view()
    });

    let legend = series.iter().map(|s| view! {
        <li class="flex items-center gap-1.5">
            <span class="inline-block h-2.5 w-2.5 rounded-sm" style=format!("background-color:{}", s.color) aria-hidden="true"></span>
            {s.label.clone()}
        </li>
    }).collect_view();

    let readout = move || match hover.get().and_then(|i| summaries.get(i)) {
        Some(s) => s.clone(),
        None => "Point at a column to read its values.".to_owned(),
    };
    let aria = format!(
        "{title}, {} to {}",
        bucket_label(
            granularity,
            buckets.first().copied().unwrap_or_default(),
            true
        ),
        bucket_label(
            granularity,
            buckets.last().copied().unwrap_or_default(),
            true
        )
    );
    view! {
        <figure class="card p-4" data-testid="chart">
            <figcaption class="mb-2 text-sm font-medium">{title.clone()}</figcaption>
            <svg viewBox=format!("0 0 {W} {H}") class="h-auto w-full" role="img" aria-label=aria
                on:mouseleave=move |_| hover.set(None)>
                <title>{title}</title>
                <text x={LEFT - 6.0} y="10" text-anchor="end" font-size="10" class=AXIS_TEXT>{unit.axis_title()}</text>
                {grid}
                {columns}
                {lines}
                <line x1=LEFT x2={W - RIGHT} y1={TOP + PLOT_H} y2={TOP + PLOT_H} class="stroke-zinc-400 dark:stroke-zinc-600" stroke-width="1"/>
                {x_labels}
            </svg>
            <ul class="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-zinc-600 dark:text-zinc-400">{legend}</ul>
            <p class="mt-2 min-h-5 text-xs tabular-nums text-zinc-600 dark:text-zinc-400" aria-live="polite" data-testid="chart-readout">{readout}</p>
            {(!note.is_empty()).then(|| view! { <p class="mt-1 text-xs text-zinc-500">{note}</p> })}
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_are_round() {
        assert_eq!(nice_scale(0.0, true), (1.0, 1.0));
        assert_eq!(nice_scale(7.0, true), (2.0, 8.0));
        assert_eq!(nice_scale(930.0, false), (500.0, 1000.0));
        assert_eq!(Unit::Dollars.tick(2_500_000.0, 500_000.0), "$2.50");
        assert_eq!(Unit::Dollars.tick(5_000.0, 5_000.0), "$0.005");
        assert_eq!(Unit::Millis.tick(2_000.0, 1_000.0), "2 s");
        let t = Timestamp::parse("2026-03-14T11:00Z").unwrap_or_default();
        assert_eq!(bucket_label(Granularity::Hour, t, false), "Mar 14 11:00");
        assert_eq!(bucket_label(Granularity::Day, t, false), "Mar 14");
        assert_eq!(bucket_label(Granularity::Month, t, true), "Mar 2026");
    }
}
