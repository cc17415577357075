//! What a request costs and which limits it must pass, read from the snapshot: prices (the
//! deployment's own, else admin overrides over the built-in table), budget windows, and the
//! limit checks of its key, team and user.

use crate::limits::{BudgetCheck, Check, Owner, Scope};
use crate::routes::DeploymentEntry;
use crate::snapshot::Snapshot;
use serde_json::{Map, Value};
use tollgate_domain::budget::{self, BudgetPeriod};
use tollgate_domain::model::VirtualKey;
use tollgate_domain::pricing::{self, Price, PriceTable};
use tollgate_domain::routing::Deployment;
use tollgate_domain::{Micros, Timestamp};
use tollgate_store::Limits;
use uuid::Uuid;

/// A deployment's price, once per snapshot: its own prices when it sets both, else the table
/// (admin overrides over built-ins) for its upstream model, else for the route's name. The
/// second value says the price must be looked up per request, for the model a wildcard
/// deployment forwards (then the first is only the fallback).
pub(crate) fn resolve_price(
    table: &PriceTable,
    d: &Deployment,
    route_model: &str,
) -> (Option<Price>, bool) {
    if let (Some(input), Some(output)) = (d.input_price_per_mtok, d.output_price_per_mtok) {
        let own = Price {
            input_per_mtok: input,
            output_per_mtok: output,
            cached_input_per_mtok: None,
        };
        return (Some(own), false);
    }
    let lookup = |m: &str| table.lookup(m).map(|(p, _)| p);
    let wildcard = d.upstream_model.is_empty() || d.upstream_model == "*";
    let fixed = if wildcard {
        None
    } else {
        lookup(&d.upstream_model)
    };
    (fixed.or_else(|| lookup(route_model)), wildcard)
}

/// The price of what `dep` was asked for (`upstream_model`, the model it forwarded).
pub(crate) fn price(
    snapshot: &Snapshot,
    dep: &DeploymentEntry,
    upstream_model: &str,
) -> Option<Price> {
    if dep.price_per_request {
        snapshot
            .prices
            .lookup(upstream_model)
            .map(|(p, _)| p)
            .or(dep.price)
    } else {
        dep.price
    }
}

/// Cost of the tokens used; `unpriced` when tokens were used and no price is known.
pub(crate) fn cost(
    price: Option<Price>,
    prompt: u64,
    completion: u64,
    cached: u64,
) -> (Micros, bool) {
    match price {
        Some(p) => (pricing::cost(&p, prompt, completion, cached), false),
        None => (Micros::ZERO, prompt + completion > 0),
    }
}

fn period(duration: Option<&str>) -> Option<BudgetPeriod> {
    // Validated where it is written; an unreadable value acts as a lifetime budget.
    duration.and_then(|d| BudgetPeriod::parse(d).ok())
}

/// The window start (UTC ms) a request at `now` falls in, for an owner.
pub(crate) fn window_start(duration: Option<&str>, anchor: Timestamp, now: Timestamp) -> i64 {
    budget::window(period(duration), anchor, now).start.0
}

/// The windows charged for the key, its team and its user (0 when the owner has no period).
pub(crate) fn windows(snapshot: &Snapshot, key: &VirtualKey, now: Timestamp) -> (i64, i64, i64) {
    let of = |scope: Scope, id: Option<Uuid>| -> i64 {
        id.and_then(|id| snapshot.holders.get(&(scope, id)))
            .map_or(0, |h| {
                window_start(h.limits.budget_duration.as_deref(), h.created_at, now)
            })
    };
    (
        window_start(key.budget_duration.as_deref(), key.created_at, now),
        of(Scope::Team, key.team_id.map(|t| t.0)),
        of(Scope::User, key.user_id.map(|u| u.0)),
    )
}

/// A rough, upper-leaning cost estimate reserved against budgets before the upstream answers.
pub(crate) fn estimate(
    snapshot: &Snapshot,
    priced_as: Option<(&DeploymentEntry, &str)>,
    body: &Map<String, Value>,
    body_len: usize,
    default_completion: u64,
) -> Micros {
    let max_tokens = ["max_completion_tokens", "max_tokens", "max_output_tokens"]
        .iter()
        .find_map(|f| body.get(*f).and_then(Value::as_u64));
    let (prompt, completion) = budget::estimate_tokens(body_len, max_tokens, default_completion);
    priced_as
        .and_then(|(dep, model)| price(snapshot, dep, model))
        .map_or(Micros::ZERO, |p| pricing::cost(&p, prompt, completion, 0))
}

/// The checks of one owner, or `None` when it limits nothing.
#[allow(clippy::too_many_arguments)]
fn check(
    view: &dyn Fn(Scope, Uuid, i64) -> Micros,
    scope: Scope,
    id: Uuid,
    limits: &Limits,
    anchor: Timestamp,
    now: Timestamp,
    estimate: Micros,
) -> Option<Check> {
    let budget = limits.max_budget.map(|max| {
        let window = window_start(limits.budget_duration.as_deref(), anchor, now);
        BudgetCheck {
            max,
            window,
            seed: view(scope, id, window),
            estimate,
        }
    });
    let c = Check {
        owner: Owner::Spend(scope),
        id,
        rpm: limits.rpm_limit,
        tpm: limits.tpm_limit,
        parallel: limits.max_parallel,
        budget,
    };
    (!c.is_empty()).then_some(c)
}

/// Every check a request with this key must pass: the key's, its team's and its user's.
pub(crate) fn checks(
    snapshot: &Snapshot,
    key: &VirtualKey,
    now: Timestamp,
    estimate: Micros,
    view: &dyn Fn(Scope, Uuid, i64) -> Micros,
) -> Vec<Check> {
    let key_limits = Limits {
        max_budget: key.max_budget,
        budget_duration: key.budget_duration.clone(),
        soft_budget: key.soft_budget,
        rpm_limit: key.rpm_limit,
        tpm_limit: key.tpm_limit,
        max_parallel: key.max_parallel,
    };
    let mut out = Vec::with_capacity(3);
    out.extend(check(
        view,
        Scope::Key,
        key.id.0,
        &key_limits,
        key.created_at,
        now,
        estimate,
    ));
    for (scope, id) in [
        (Scope::Team, key.team_id.map(|t| t.0)),
        (Scope::User, key.user_id.map(|u| u.0)),
    ] {
        if let Some(h) = id.and_then(|id| snapshot.holders.get(&(scope, id))) {
            out.extend(check(
                view,
                scope,
                h.id,
                &h.limits,
                h.created_at,
                now,
                estimate,
            ));
        }
    }
    out
}

/// Whether the key, its team or its user has a budget (only then is a cost estimated).
pub(crate) fn has_budget(snapshot: &Snapshot, key: &VirtualKey) -> bool {
    key.max_budget.is_some()
        || key
            .team_id
            .and_then(|t| snapshot.holders.get(&(Scope::Team, t.0)))
            .is_some_and(|h| h.limits.max_budget.is_some())
        || key
            .user_id
            .and_then(|u| snapshot.holders.get(&(Scope::User, u.0)))
            .is_some_and(|h| h.limits.max_budget.is_some())
}

/// The soft budget of an owner, if any.
pub(crate) fn soft_budget(snapshot: &Snapshot, scope: Scope, id: Uuid) -> Option<Micros> {
    match scope {
        Scope::Key => snapshot.keys_by_id.get(&id).and_then(|k| k.soft_budget),
        _ => snapshot
            .holders
            .get(&(scope, id))
            .and_then(|h| h.limits.soft_budget),
    }
}
