//! One request of the log: every field the gateway recorded about it, and its prompt and
//! completion when its key or team stores them (off by default; the page says which).

use super::logs::status_badge;
use crate::components::format::{duration_ms, error_text, link, money, thousands};
use crate::server_fns::analytics::get_request;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use tollgate_domain::analytics::{LogEntry, StoredBodies};

#[component]
pub fn LogDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let entry = Resource::new(id, get_request);
    view! {
        <leptos_meta::Title text="Request"/>
        <div class="mb-6">
            <a href="/logs" class="text-sm text-zinc-500 hover:underline">"Logs"</a>
            <h1 class="mt-1 text-2xl font-semibold tracking-tight">"Request"</h1>
        </div>
        <Suspense fallback=|| view! { <p class="text-sm text-zinc-500">"Loading…"</p> }>
            {move || entry.get().map(|r| match r {
                Ok(e) => view! { <EntryView entry=e/> }.into_any(),
                Err(e) => view! {
                    <div role="alert" class="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700 dark:bg-red-950/40 dark:text-red-300">
                        <p>{error_text(&e)}</p>
                        <a class="mt-1 inline-block underline" href="/logs">"Back to the request log"</a>
                    </div>
                }.into_any(),
            })}
        </Suspense>
    }
}

fn row(term: &'static str, value: AnyView) -> impl IntoView {
    view! {
        <div class="grid grid-cols-3 gap-4 border-t border-zinc-100 px-4 py-2.5 first:border-t-0 dark:border-zinc-800">
            <dt class="text-sm text-zinc-500">{term}</dt>
            <dd class="col-span-2 text-sm tabular-nums">{value}</dd>
        </div>
    }
}

fn mono(text: String) -> AnyView {
    view! { <span class="font-mono text-xs">{text}</span> }.into_any()
}

fn plain(text: String) -> AnyView {
    view! { <span>{text}</span> }.into_any()
}

fn none() -> AnyView {
    view! { <span class="text-zinc-400">"—"</span> }.into_any()
}

/// The deployments a request was sent to, in order; retries and fallbacks show as several.
fn tried(e: &LogEntry) -> AnyView {
    if e.tried.is_empty() {
        return none();
    }
    let ids: Vec<String> = e.tried.iter().map(|d| d.to_string()).collect();
    view! {
        <ol class="list-decimal pl-5" data-testid="tried">
            {ids.into_iter().map(|id| view! { <li class="font-mono text-xs">{id}</li> }).collect_view()}
        </ol>
    }
    .into_any()
}

/// A value that links to the request log filtered by it.
fn filtered(name: &'static str, value: String, shown: String) -> AnyView {
    let href = link("/logs", &[(name, value)]);
    view! { <a class="text-indigo-700 hover:underline dark:text-indigo-300" href=href>{shown}</a> }
        .into_any()
}

/// The stored prompt and completion, or why there are none. Shown as text, never as markup.
fn bodies_view(bodies: Option<StoredBodies>, withheld: bool) -> AnyView {
    let note = "mb-4 text-sm text-zinc-600 dark:text-zinc-400";
    match bodies {
        None if withheld => view! {
            <p class=note data-testid="not-stored">
                "A prompt and completion are stored for this request, but only its key's owner, its team's admins and admins may read them."
            </p>
        }
        .into_any(),
        None => view! {
            <p class=note data-testid="not-stored">
                "Prompts and completions are not stored for this request: storing them is off by default and is turned on per key or per team ("
                <code class="font-mono text-xs">"tollgate keys store-prompts <key id> on"</code>", "
                <code class="font-mono text-xs">"tollgate teams store-prompts <team> on"</code>"). Below is what the request cost, how it was routed and how long it took."
            </p>
        }
        .into_any(),
        Some(b) => {
            let block = |title: &'static str, testid: &'static str, text: String| {
                view! {
                    <section class="card mb-4 p-0">
                        <h2 class="border-b border-zinc-100 px-4 py-2 text-sm font-medium dark:border-zinc-800">{title}</h2>
                        <pre class="max-h-96 overflow-auto whitespace-pre-wrap break-all px-4 py-3 font-mono text-xs" data-testid=testid>{text}</pre>
                    </section>
                }
            };
            view! {
                {b.truncated.then(|| view! {
                    <p class=note data-testid="bodies-truncated">
                        "Cut: the prompt or the completion was longer than the size kept (" <code class="font-mono text-xs">"spend.store_prompts_max_kib"</code> ")."
                    </p>
                })}
                {block("Prompt (the request body as sent)", "stored-prompt", b.prompt)}
                {block("Completion (the answer as received; a stream's events as sent)", "stored-completion", b.completion)}
            }
            .into_any()
        }
    }
}

#[component]
fn EntryView(entry: LogEntry) -> impl IntoView {
    let e = entry;
    let key = match (e.key_id, e.key_label.clone()) {
        (Some(id), label) => filtered(
            "key",
            id.to_string(),
            label.map_or_else(|| id.to_string(), |l| format!("{l} ({id})")),
        ),
        (None, _) => none(),
    };
    let team = e
        .team_id
        .map_or_else(none, |t| filtered("team", t.to_string(), t.to_string()));
    let cost = view! {
        <span>{money(e.cost)}</span>
        {e.unpriced.then(|| view! {
            <span class="badge ml-2 bg-amber-100 text-amber-900 ring-amber-300 dark:bg-amber-500/10 dark:text-amber-300"
                title="No price was known for this model, so it was charged $0.">"unpriced"</span>
        })}
    }.into_any();
    let bodies = bodies_view(e.bodies.clone(), e.bodies_withheld);
    view! {
        {bodies}
        <dl class="card divide-y-0 p-0" data-testid="log-detail">
            {row("Request id", mono(e.request_id.clone()))}
            {row("Time", plain(format!("{} ({})", e.ts.display_minutes(), e.ts)))}
            {row("Status", view! { {status_badge(e.status, None)} }.into_any())}
            {row("Error kind", e.error_kind.clone().map_or_else(none, mono))}
            {row("Route model", filtered("model", e.route_model.clone(), e.route_model.clone()))}
            {row("Upstream model", e.upstream_model.clone().map_or_else(none, plain))}
            {row("Provider", e.provider.clone().map_or_else(none, plain))}
            {row("Deployment", e.deployment_id.map_or_else(none, |d| mono(d.to_string())))}
            {row("Deployments tried", tried(&e))}
            {row("Instance", filtered("instance", e.instance.clone(), e.instance.clone()))}
            {row("Pod", filtered("pod", e.pod.clone(), e.pod.clone()))}
            {row("Key", key)}
            {row("Team", team)}
            {row("User", e.user_id.map_or_else(none, |u| mono(u.to_string())))}
            {row("Prompt tokens", plain(thousands(e.prompt_tokens)))}
            {row("of which cached", plain(thousands(e.cached_tokens)))}
            {row("Completion tokens", plain(thousands(e.completion_tokens)))}
            {row("Cost", cost)}
            {row("Latency", plain(duration_ms(e.latency_ms)))}
            {row("Time to first token", plain(duration_ms(e.ttft_ms)))}
        </dl>
    }
}
