//! The spend page's question as a GET form: it works before hydration (a plain page load) and,
//! after it, navigates in place. Every choice ends up in the URL.

use super::range::{RangeFields, RangeParams};
use crate::pages::spend::SpendParams;
use crate::server_fns::analytics::SpendOptions;
use leptos::prelude::*;
use leptos_router::components::Form;
use tollgate_domain::analytics::{GroupBy, MAX_HOURLY_RANGE_MS};

const SELECT: &str = "input w-auto";

/// A `<select name=...>` of `(value, label)` pairs with `current` selected. A current value not
/// in the list (from a link) is kept as an option, so the form never silently drops a filter.
#[component]
pub fn Select(
    name: &'static str,
    label: &'static str,
    current: String,
    options: Vec<(String, String)>,
) -> impl IntoView {
    let mut options = options;
    if !current.is_empty() && !options.iter().any(|(v, _)| *v == current) {
        options.push((current.clone(), current.clone()));
    }
    view! {
        <div class="space-y-1.5">
            <label class="label" for=name>{label}</label>
            <select class=SELECT id=name name=name>
                {options.into_iter().map(|(value, text)| {
                    let selected = value == current;
                    view! { <option value=value selected=selected>{text}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}

/// A labelled text input with `current` as its value.
#[component]
pub fn TextFilter(
    name: &'static str,
    label: &'static str,
    current: String,
    #[prop(optional)] placeholder: &'static str,
) -> impl IntoView {
    view! {
        <div class="space-y-1.5">
            <label class="label" for=name>{label}</label>
            <input class="input" id=name name=name type="text" value=current placeholder=placeholder maxlength="256"/>
        </div>
    }
}

fn with_all(all: &str, items: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    std::iter::once((String::new(), all.to_owned()))
        .chain(items)
        .collect()
}

/// Whether the range in the URL is too long for hourly buckets.
fn hourly_allowed(range: &RangeParams) -> bool {
    match range.resolve(super::range::now()) {
        Ok((Some(from), Some(to))) => to.0 - from.0 <= MAX_HOURLY_RANGE_MS,
        Ok((None, None)) => false,
        _ => true,
    }
}

#[component]
pub fn SpendForm(params: SpendParams, options: SpendOptions) -> impl IntoView {
    let teams: Vec<(String, String)> = options
        .teams
        .iter()
        .map(|(id, name)| (id.to_string(), name.clone()))
        .collect();
    let teams = if options.all_teams {
        with_all("All teams", teams)
    } else {
        teams
    };
    let models = with_all(
        "All models",
        options.models.iter().map(|m| (m.clone(), m.clone())),
    );
    let instances = with_all(
        "All instances",
        options.instances.iter().map(|m| (m.clone(), m.clone())),
    );
    let group_by = with_all(
        "Nothing",
        GroupBy::ALL
            .iter()
            .map(|g| (g.as_str().to_owned(), g.title().to_owned())),
    );
    let hourly = hourly_allowed(&params.range);
    let more_open = [
        &params.key,
        &params.user,
        &params.provider,
        &params.deployment,
    ]
    .iter()
    .any(|v| !v.is_empty());
    let g = params.granularity.clone();
    view! {
        <Form method="GET" action="/spend">
            <div class="card flex flex-wrap items-end gap-4 p-4" data-testid="spend-form">
                <RangeFields current=params.range.clone() default="30d"/>
                <div class="space-y-1.5">
                    <label class="label" for="granularity">"Buckets"</label>
                    <select class=SELECT id="granularity" name="granularity" aria-describedby="granularity-hint">
                        <option value="" selected={g.is_empty()}>"Automatic"</option>
                        <option value="hour" selected={g == "hour"} disabled=!hourly>"Hour"</option>
                        <option value="day" selected={g == "day"}>"Day"</option>
                        <option value="month" selected={g == "month"}>"Month"</option>
                    </select>
                    <p id="granularity-hint" class="sr-only">"Hourly buckets serve ranges up to 7 days."</p>
                </div>
                <Select name="group_by" label="Group by" current=params.group_by.clone() options=group_by/>
                <Select name="team" label="Team" current=params.team.clone() options=teams/>
                <Select name="model" label="Model" current=params.model.clone() options=models/>
                <Select name="instance" label="Instance" current=params.instance.clone() options=instances/>
                <details class="w-full" open=more_open>
                    <summary class="cursor-pointer text-sm text-zinc-600 dark:text-zinc-400">"More filters: key, user, provider, deployment"</summary>
                    <div class="mt-3 grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-4">
                        <TextFilter name="key" label="Key id" current=params.key.clone() placeholder="a key's UUID"/>
                        <TextFilter name="user" label="User id" current=params.user.clone() placeholder="a user's UUID"/>
                        <TextFilter name="provider" label="Provider" current=params.provider.clone() placeholder="openai"/>
                        <TextFilter name="deployment" label="Deployment id" current=params.deployment.clone() placeholder="a deployment's UUID"/>
                    </div>
                </details>
                <div class="flex gap-2">
                    <button type="submit" class="btn-primary">"Show"</button>
                    <a href="/spend" class="btn-secondary">"Reset"</a>
                </div>
            </div>
        </Form>
    }
}
