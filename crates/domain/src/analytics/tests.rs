use super::*;
use crate::time::days_from_civil;

fn day(y: i64, m: u32, d: u32) -> Timestamp {
    Timestamp(days_from_civil(y, m, d) * MS_PER_DAY)
}

fn query(from: Timestamp, to: Timestamp, g: Granularity, by: Option<GroupBy>) -> SpendQuery {
    SpendQuery {
        from,
        to,
        granularity: g,
        group_by: by,
        filters: SpendFilters::default(),
    }
}

fn row(bucket: Timestamp, group: Option<&str>, cost: i64, requests: i64) -> RollupRow {
    RollupRow {
        bucket,
        group: group.map(str::to_owned),
        label: None,
        metrics: SpendMetrics {
            requests,
            cost: Micros(cost),
            ..SpendMetrics::default()
        },
    }
}

#[test]
fn month_buckets_follow_the_calendar_including_leap_february() {
    let b = Granularity::Month.buckets(day(2024, 1, 31), day(2024, 4, 1));
    assert_eq!(b, vec![day(2024, 1, 1), day(2024, 2, 1), day(2024, 3, 1)]);
    // 2024-02-29 exists and belongs to February; the next bucket is March 1st.
    let leap = day(2024, 2, 29).plus_millis(23 * MS_PER_HOUR);
    assert_eq!(Granularity::Month.bucket_start(leap), day(2024, 2, 1));
    assert_eq!(Granularity::Month.next(day(2024, 2, 1)), day(2024, 3, 1));
    // December rolls into January of the next year.
    assert_eq!(Granularity::Month.next(day(2025, 12, 1)), day(2026, 1, 1));
}

#[test]
fn hour_and_day_buckets_are_utc_and_half_open() {
    let from = day(2026, 3, 29).plus_millis(22 * MS_PER_HOUR + 5);
    let to = day(2026, 3, 30).plus_millis(MS_PER_HOUR);
    let hours = Granularity::Hour.buckets(from, to);
    // 22:00 (partial), 23:00, 00:00; the bucket starting at `to` is excluded.
    assert_eq!(hours.len(), 3);
    assert_eq!(hours[0], day(2026, 3, 29).plus_millis(22 * MS_PER_HOUR));
    assert_eq!(hours[2], day(2026, 3, 30));
    assert_eq!(
        Granularity::Day.buckets(from, to),
        vec![day(2026, 3, 29), day(2026, 3, 30)]
    );
    // The last millisecond of a day is still that day.
    assert_eq!(
        Granularity::Day.bucket_start(day(2026, 3, 30).plus_millis(-1)),
        day(2026, 3, 29)
    );
}

#[test]
fn hourly_granularity_is_refused_beyond_seven_days() {
    let from = day(2026, 1, 1);
    assert!(
        query(from, day(2026, 1, 8), Granularity::Hour, None)
            .validate()
            .is_ok()
    );
    let err = query(
        from,
        day(2026, 1, 8).plus_millis(1),
        Granularity::Hour,
        None,
    )
    .validate()
    .unwrap_err();
    assert_eq!(err.field, "granularity");
    assert_eq!(
        query(from, from, Granularity::Day, None)
            .validate()
            .unwrap_err()
            .field,
        "to"
    );
    let mut q = query(from, day(2026, 2, 1), Granularity::Day, None);
    q.filters.model = Some("x".repeat(MAX_FILTER_LEN + 1));
    assert_eq!(q.validate().unwrap_err().field, "model");
    q.filters.model = Some("gpt\u{0}".to_owned());
    assert_eq!(q.validate().unwrap_err().field, "model");
}

#[test]
fn assemble_folds_days_into_months_and_orders_groups_by_cost() {
    let q = query(
        day(2026, 1, 1),
        day(2026, 3, 1),
        Granularity::Month,
        Some(GroupBy::Model),
    );
    let rows = vec![
        row(day(2026, 1, 3), Some("a"), 10, 1),
        row(day(2026, 1, 20), Some("a"), 5, 1),
        row(day(2026, 2, 2), Some("b"), 100, 2),
        row(day(2026, 2, 28), Some("a"), 1, 1),
        // Outside the range: dropped.
        row(day(2026, 3, 1), Some("c"), 1_000, 1),
    ];
    let s = assemble(&q, &rows);
    assert_eq!(s.buckets, vec![day(2026, 1, 1), day(2026, 2, 1)]);
    assert_eq!(
        s.groups.iter().map(|g| g.key.as_str()).collect::<Vec<_>>(),
        ["b", "a"]
    );
    assert_eq!(s.groups[1].totals.cost, Micros(16));
    assert_eq!(s.totals.cost, Micros(116));
    assert_eq!(s.totals.requests, 5);
    assert_eq!(s.per_bucket[0].cost, Micros(15));
    assert_eq!(s.per_bucket[1].cost, Micros(101));
    // Points refer to the re-ordered groups: January holds only "a" (now index 1).
    let jan: Vec<_> = s
        .points
        .iter()
        .filter(|p| p.bucket == day(2026, 1, 1))
        .collect();
    assert_eq!(jan.len(), 1);
    assert_eq!(jan[0].group, 1);
    assert_eq!(jan[0].metrics.cost, Micros(15));
}

#[test]
fn rows_without_a_group_value_get_a_readable_label() {
    let q = query(
        day(2026, 1, 1),
        day(2026, 1, 2),
        Granularity::Day,
        Some(GroupBy::Team),
    );
    let mut labelled = row(day(2026, 1, 1), Some("t1"), 3, 1);
    labelled.label = Some("Search".to_owned());
    let s = assemble(&q, &[row(day(2026, 1, 1), None, 1, 1), labelled]);
    assert_eq!(s.groups[0].label, "Search");
    assert_eq!(s.groups[1].label, "(no team)");
    assert_eq!(s.groups[1].key, "");
}

#[test]
fn latency_quantiles_interpolate_within_buckets() {
    let mut h = LatencyHistogram::default();
    assert_eq!(h.quantile(0.5), None);
    for ms in [10, 20, 30, 40] {
        h.record(ms); // all in the first bucket, 0..=50
    }
    assert_eq!(h.quantile(0.5), Some(25));
    assert_eq!(h.quantile(1.0), Some(50));
    let mut slow = LatencyHistogram::default();
    slow.record(500_000);
    assert_eq!(
        slow.quantile(0.5),
        Some(120_000),
        "overflow reports its lower bound"
    );
    assert_eq!(LatencyHistogram::bucket_of(50), 0);
    assert_eq!(LatencyHistogram::bucket_of(51), 1);
    assert_eq!(LatencyHistogram::bucket_of(120_001), LATENCY_BUCKETS - 1);
}

#[test]
fn csv_fields_are_quoted_and_formulas_defused() {
    assert_eq!(csv_field("plain"), "plain");
    assert_eq!(csv_field("a,b"), "\"a,b\"");
    assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
    assert_eq!(csv_field("-12.5"), "-12.5", "negative numbers stay numbers");
    assert_eq!(csv_line(["a", "b,c"]), "a,\"b,c\"\r\n");
    assert_eq!(dollars_decimal(Micros(12_345_678)), "12.345678");
    assert_eq!(dollars_decimal(Micros(-5)), "-0.000005");
}

#[test]
fn the_groups_csv_has_the_tables_columns_and_escapes_labels() {
    let mut hostile = SpendMetrics {
        requests: 4,
        errors: 1,
        prompt_tokens: 10,
        completion_tokens: 5,
        cost: Micros(1_500_000),
        ..SpendMetrics::default()
    };
    hostile.latency.record(120);
    let groups = [
        SpendGroup {
            key: "k1".to_owned(),
            label: "=cmd|' /C calc'!A0, \"x\"".to_owned(),
            totals: hostile,
        },
        SpendGroup {
            key: String::new(),
            label: "(no team)".to_owned(),
            totals: SpendMetrics::default(),
        },
    ];
    let csv = groups_csv("Key", &groups);
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "Key,id,requests,errors,error_rate,prompt_tokens,completion_tokens,cost_usd,p50_latency_ms,p95_latency_ms"
    );
    assert!(
        lines[1].starts_with("\"'=cmd|' /C calc'!A0, \"\"x\"\"\",k1,4,1,0.2500,10,5,1.500000,"),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2], "(no team),,0,0,,0,0,0.000000,,");
    assert_eq!(lines.len(), 4, "a line per group and the final line break");
}

#[test]
fn log_cursors_round_trip_and_reject_junk() {
    let c = LogCursor {
        ts: Timestamp(1_700_000_000_000),
        request_id: "0190-abc".to_owned(),
    };
    assert_eq!(LogCursor::decode(&c.encode()), Some(c));
    for junk in ["", "_", "12", "x_abc", "12_", "12_a b", "12_<script>\u{7}"] {
        assert_eq!(LogCursor::decode(junk), None, "{junk:?}");
    }
    assert_eq!(StatusFilter::parse("error"), Some(StatusFilter::Error));
    assert_eq!(StatusFilter::parse("429"), Some(StatusFilter::Code(429)));
    assert_eq!(StatusFilter::parse("42"), None);
    assert_eq!(StatusFilter::parse("DROP TABLE"), None);
}

#[test]
fn points_beyond_the_charted_groups_fold_into_other_and_groups_stay_whole() {
    let day1 = day(2026, 3, 1);
    let day2 = day(2026, 3, 2);
    let q = query(day1, day(2026, 3, 3), Granularity::Day, Some(GroupBy::Key));
    // Five keys on day 1 (costs 50..10), two on day 2.
    let mut rows = Vec::new();
    for (i, cost) in [50, 40, 30, 20, 10].into_iter().enumerate() {
        rows.push(row(day1, Some(&format!("k{i}")), cost, 1));
    }
    rows.push(row(day2, Some("k0"), 5, 1));
    rows.push(row(day2, Some("k4"), 7, 1));
    let full = assemble(&q, &rows);
    let mut folded = full.clone();
    folded.fold_points_beyond(2);
    assert_eq!(folded.groups, full.groups, "the table keeps every group");
    let cells: Vec<(Timestamp, usize, i64)> = folded
        .points
        .iter()
        .map(|p| (p.bucket, p.group, p.metrics.cost.0))
        .collect();
    // Day 1: k0, k1, then k2+k3+k4 as "Other"; day 2: k0, then k4 as "Other".
    assert_eq!(
        cells,
        vec![
            (day1, 0, 50),
            (day1, 1, 40),
            (day1, 2, 60),
            (day2, 0, 5),
            (day2, 2, 7)
        ]
    );
    // Per bucket and in total nothing is lost.
    let sum = |s: &SpendSeries| s.points.iter().map(|p| p.metrics.cost.0).sum::<i64>();
    assert_eq!(sum(&folded), sum(&full));
    // Too few groups to fold: unchanged.
    let mut small = full.clone();
    small.fold_points_beyond(4);
    assert_eq!(small, full);
}

#[test]
fn query_string_values_parse_or_name_their_field() {
    assert_eq!(param::granularity(None), Ok(None));
    assert_eq!(param::granularity(Some(" ")), Ok(None));
    assert_eq!(
        param::granularity(Some("hour")),
        Ok(Some(Granularity::Hour))
    );
    assert_eq!(param::group_by(Some("none")), Ok(None));
    assert_eq!(param::group_by(Some("model")), Ok(Some(GroupBy::Model)));
    assert_eq!(
        param::status(Some("429")),
        Ok(Some(StatusFilter::Code(429)))
    );
    assert_eq!(
        param::time("from", Some("2026-03-01")),
        Ok(Some(day(2026, 3, 1)))
    );
    let c = LogCursor {
        ts: Timestamp(5),
        request_id: "r".to_owned(),
    };
    assert_eq!(param::cursor(Some(&c.encode())), Ok(Some(c)));
    for (e, field) in [
        (
            param::granularity(Some("minute")).unwrap_err(),
            "granularity",
        ),
        (param::group_by(Some("color")).unwrap_err(), "group_by"),
        (param::status(Some("700")).unwrap_err(), "status"),
        (param::cursor(Some("junk")).unwrap_err(), "after"),
        (param::time("to", Some("yesterday")).unwrap_err(), "to"),
        (
            param::id::<crate::KeyId>("key", Some("not-an-id")).unwrap_err(),
            "key",
        ),
    ] {
        assert_eq!(e.field, field);
        assert!(e.to_string().starts_with(&format!("{field}: ")), "{e}");
    }
}

#[test]
fn stored_bodies_are_cut_on_a_character_boundary_and_hold_no_nul() {
    let whole = StoredBodies::capture(b"{\"a\":1}", b"ok", 64);
    assert_eq!(
        whole,
        StoredBodies {
            prompt: "{\"a\":1}".to_owned(),
            completion: "ok".to_owned(),
            truncated: false,
        }
    );
    // "é" is two bytes: a cap of 3 cannot end inside it.
    let cut = StoredBodies::capture("aéé".as_bytes(), b"", 4);
    assert_eq!((cut.prompt.as_str(), cut.truncated), ("aé", true));
    let cut = StoredBodies::capture("aéé".as_bytes(), b"", 2);
    assert_eq!((cut.prompt.as_str(), cut.truncated), ("a", true));
    // Invalid UTF-8 and NUL become U+FFFD (3 bytes each), and the cap still holds.
    let odd = StoredBodies::capture(b"x\0y\xff", b"", 64);
    assert_eq!(odd.prompt, "x\u{FFFD}y\u{FFFD}");
    assert!(!odd.truncated);
    let tight = StoredBodies::capture(b"\0\0\0", b"", 4);
    assert_eq!((tight.prompt.as_str(), tight.truncated), ("\u{FFFD}", true));
    assert!(tight.prompt.len() <= 4);
    // The completion alone being long marks the pair as cut.
    let long = StoredBodies::capture(b"p", &[b'c'; 10], 8);
    assert_eq!((long.completion.len(), long.truncated), (8, true));
}

#[test]
fn totals_parts_read_whole_days_daily_and_edge_hours_hourly() {
    let day = |d: i64| d * MS_PER_DAY;
    let hour = |h: i64| h * MS_PER_HOUR;
    let q = |from: i64, to: i64, granularity: Granularity| SpendQuery {
        from: Timestamp(from),
        to: Timestamp(to),
        granularity,
        group_by: Some(GroupBy::Key),
        filters: SpendFilters::default(),
    };
    let parts = |query: SpendQuery| -> Vec<(Rollup, i64, i64)> {
        query
            .totals_parts()
            .into_iter()
            .map(|(r, p)| {
                assert_eq!((p.group_by, &p.filters), (query.group_by, &query.filters));
                (r, p.from.0, p.to.0)
            })
            .collect()
    };
    // 7 days ending mid-day: the first day's last hours, 6 whole days, today's first hours. The
    // first part starts where the query does (the read floors it to its hour).
    let from = day(10) + hour(14) + 1_234;
    let to = day(17) + hour(14) + 1_234;
    assert_eq!(
        parts(q(from, to, Granularity::Hour)),
        vec![
            (Rollup::Hourly, from, day(11)),
            (Rollup::Daily, day(11), day(17)),
            (Rollup::Hourly, day(17), to),
        ]
    );
    // Day-aligned: days only.
    assert_eq!(
        parts(q(day(3), day(5), Granularity::Hour)),
        vec![(Rollup::Daily, day(3), day(5))]
    );
    // Starting in the last hour before midnight: that hour, then whole days.
    assert_eq!(
        parts(q(day(3) - 1, day(5), Granularity::Hour)),
        vec![
            (Rollup::Hourly, day(3) - 1, day(3)),
            (Rollup::Daily, day(3), day(5))
        ]
    );
    // Ending a millisecond into a day: that day's first hour is read hourly.
    assert_eq!(
        parts(q(day(3), day(5) + 1, Granularity::Hour)),
        vec![
            (Rollup::Daily, day(3), day(5)),
            (Rollup::Hourly, day(5), day(5) + 1)
        ]
    );
    // No whole day inside: hours only, even across midnight.
    let within = q(day(3) + hour(20), day(4) + hour(20), Granularity::Hour);
    assert_eq!(
        parts(within),
        vec![(Rollup::Hourly, day(3) + hour(20), day(4) + hour(20))]
    );
    // Days and months read the daily rollup over the whole range.
    assert_eq!(
        parts(q(from, to, Granularity::Day)),
        vec![(Rollup::Daily, from, to)]
    );
    assert_eq!(
        parts(q(from, to, Granularity::Month)),
        vec![(Rollup::Daily, from, to)]
    );
}

#[test]
fn minus_takes_back_what_merge_added() {
    let mut a = SpendMetrics {
        requests: 5,
        errors: 1,
        prompt_tokens: 100,
        completion_tokens: 40,
        cost: Micros(9_000),
        latency: LatencyHistogram::default(),
    };
    a.latency.record(30);
    a.latency.record(90_000);
    let mut b = SpendMetrics {
        requests: 2,
        errors: 1,
        prompt_tokens: 7,
        completion_tokens: 3,
        cost: Micros(1_000),
        latency: LatencyHistogram::default(),
    };
    b.latency.record(90_000);
    let mut sum = a;
    sum.merge(&b);
    assert_eq!(sum.minus(&b), a);
    assert_eq!(sum.minus(&a), b);
    assert_eq!(a.minus(&a), SpendMetrics::default());
}
