//! The analytics pages' query strings: ids, text, and time ranges as a preset (`range=7d`) or
//! custom dates (`range=custom&from=&to=`) resolved against the current time; and the range
//! fields of their forms.

use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::params::ParamsMap;
use tollgate_domain::Timestamp;
use tollgate_domain::analytics::Granularity;
use tollgate_domain::analytics::param as parse;
use tollgate_domain::time::{MS_PER_DAY, MS_PER_HOUR};

/// The presets, as the URL spells them and as the select shows them.
pub const PRESETS: [(&str, &str); 7] = [
    ("today", "Today (UTC)"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("month", "This month"),
    ("last_month", "Last month"),
];

/// The current time: the server's clock under SSR, the browser's after hydration.
pub fn now() -> Timestamp {
    #[cfg(target_arch = "wasm32")]
    {
        Timestamp(web_sys::js_sys::Date::now() as i64)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        Timestamp::now()
    }
}

/// `[from, to)` of a preset at `now`. Ranges end at the next hour (hourly presets) or the next
/// midnight UTC, so buckets are whole and the current one is included.
pub fn preset(name: &str, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
    let next_hour = Granularity::Hour.bucket_start(now).plus_millis(MS_PER_HOUR);
    let tomorrow = now.start_of_day().plus_millis(MS_PER_DAY);
    let days = |n: i64| Some((tomorrow.plus_millis(-n * MS_PER_DAY), tomorrow));
    match name {
        "today" => days(1),
        "24h" => Some((next_hour.plus_millis(-24 * MS_PER_HOUR), next_hour)),
        "7d" => days(7),
        "30d" => days(30),
        "90d" => days(90),
        "month" => Some((Granularity::Month.bucket_start(now), tomorrow)),
        "last_month" => {
            let this_month = Granularity::Month.bucket_start(now);
            let last_month = Granularity::Month.bucket_start(this_month.plus_millis(-1));
            Some((last_month, this_month))
        }
        _ => None,
    }
}

/// The range part of a page's query string, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeParams {
    pub range: String,
    pub from: String,
    pub to: String,
}

/// `None` for an empty parameter.
pub fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// A query parameter, trimmed; empty when absent.
pub fn param(map: &ParamsMap, name: &str) -> String {
    map.get_str(name)
        .map(str::trim)
        .unwrap_or_default()
        .to_owned()
}

impl RangeParams {
    pub fn read(map: &ParamsMap) -> RangeParams {
        RangeParams {
            range: param(map, "range"),
            from: param(map, "from"),
            to: param(map, "to"),
        }
    }

    /// Custom dates apply when chosen, or when dates are given without a preset (links).
    pub fn is_custom(&self) -> bool {
        self.range == "custom"
            || (self.range.is_empty() && !(self.from.is_empty() && self.to.is_empty()))
    }

    /// The pairs to carry into links.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        if self.is_custom() {
            vec![
                ("range", "custom".to_owned()),
                ("from", self.from.clone()),
                ("to", self.to.clone()),
            ]
        } else {
            vec![("range", self.range.clone())]
        }
    }

    /// The bounds asked for, each optional; `to` given as a date includes that whole day.
    pub fn resolve(
        &self,
        now: Timestamp,
    ) -> Result<(Option<Timestamp>, Option<Timestamp>), AppError> {
        if self.is_custom() {
            let from = parse::time("from", Some(&self.from))?;
            let to = parse::time("to", Some(&self.to))?.map(|t| {
                if self.to.len() == 10 {
                    t.plus_millis(MS_PER_DAY)
                } else {
                    t
                }
            });
            if let (Some(f), Some(t)) = (from, to)
                && t <= f
            {
                return Err(AppError::invalid(
                    "to",
                    "the end date must not be before the start date",
                ));
            }
            return Ok((from, to));
        }
        if self.range.is_empty() {
            return Ok((None, None));
        }
        preset(&self.range, now)
            .map(|(f, t)| (Some(f), Some(t)))
            .ok_or_else(|| {
                AppError::invalid(
                    "range",
                    format!("unknown range {:?}; choose one from the list", self.range),
                )
            })
    }
}

const SELECT: &str = "input w-auto";

/// The range select and the two date inputs. After hydration, typing a date switches the select
/// to "Custom"; before it, people pick "Custom dates" themselves.
#[component]
pub fn RangeFields(
    current: RangeParams,
    /// Offer "Any time" (the request log) instead of defaulting to a preset.
    #[prop(optional)]
    any_time: bool,
    /// The preset used when none is given, shown as selected.
    #[prop(optional)]
    default: &'static str,
) -> impl IntoView {
    let initial = if current.is_custom() {
        "custom".to_owned()
    } else if current.range.is_empty() {
        default.to_owned()
    } else {
        current.range.clone()
    };
    let selected = RwSignal::new(initial.clone());
    let is = move |v: &str| initial == v;
    view! {
        <div class="space-y-1.5">
            <label class="label" for="range">"Range"</label>
            <select class=SELECT id="range" name="range" prop:value=move || selected.get()
                on:change=move |ev| selected.set(event_target_value(&ev))>
                {any_time.then(|| view! { <option value="" selected=is("")>"Any time"</option> })}
                {PRESETS.iter().map(|(value, label)| view! {
                    <option value=*value selected=is(value)>{*label}</option>
                }).collect_view()}
                <option value="custom" selected=is("custom")>"Custom dates"</option>
            </select>
        </div>
        <div class="space-y-1.5">
            <label class="label" for="from">"From"</label>
            <input class=SELECT id="from" name="from" type="date" value=current.from.clone()
                on:input=move |_| selected.set("custom".to_owned())/>
        </div>
        <div class="space-y-1.5">
            <label class="label" for="to">"To (inclusive)"</label>
            <input class=SELECT id="to" name="to" type="date" value=current.to.clone()
                on:input=move |_| selected.set("custom".to_owned())/>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap_or_default()
    }

    #[test]
    fn presets_end_at_whole_buckets() {
        let now = at("2026-03-15T10:20:00Z");
        assert_eq!(
            preset("24h", now),
            Some((at("2026-03-14T11:00Z"), at("2026-03-15T11:00Z")))
        );
        assert_eq!(
            preset("7d", now),
            Some((at("2026-03-09"), at("2026-03-16")))
        );
        assert_eq!(
            preset("today", now),
            Some((at("2026-03-15"), at("2026-03-16")))
        );
        assert_eq!(
            preset("month", now),
            Some((at("2026-03-01"), at("2026-03-16")))
        );
        assert_eq!(
            preset("last_month", now),
            Some((at("2026-02-01"), at("2026-03-01")))
        );
        assert_eq!(preset("1y", now), None);
    }

    #[test]
    fn custom_dates_include_the_last_day() {
        let p = RangeParams {
            range: String::new(),
            from: "2026-03-01".into(),
            to: "2026-03-02".into(),
        };
        assert!(p.is_custom());
        assert_eq!(
            p.resolve(Timestamp(0)).ok(),
            Some((Some(at("2026-03-01")), Some(at("2026-03-03"))))
        );
        let bad = RangeParams {
            range: "custom".into(),
            from: "yesterday".into(),
            to: String::new(),
        };
        assert!(bad.resolve(Timestamp(0)).is_err());
        let preset_wins = RangeParams {
            range: "7d".into(),
            from: "2026-03-01".into(),
            to: String::new(),
        };
        assert!(!preset_wins.is_custom());
        assert_eq!(
            RangeParams::default().resolve(Timestamp(0)).ok(),
            Some((None, None))
        );
    }
}
