//! The audit log: every change, who made it and when, with what it was before and after
//! (secrets are never recorded), filtered, and exported as CSV by the admin API.

use crate::components::empty::{EmptyState, PageHeader};
use crate::components::form::Pager;
use crate::components::format::link;
use crate::server_fns::audit::{AUDIT_PAGE, AuditFilter, list_audit};
use leptos::prelude::*;
use tollgate_domain::AuditId;
use tollgate_domain::model::AuditEntry;

const OBJECT_TYPES: &[&str] = &["key", "team", "user", "route", "credential", "price"];

#[component]
pub fn AuditPage() -> impl IntoView {
    let (action, set_action) = signal(String::new());
    let (object, set_object) = signal(String::new());
    let (actor, set_actor) = signal(String::new());
    // The pages walked so far: each is the (time, id) of the previous page's last entry.
    let (pages, set_pages) = signal(vec![None::<(i64, AuditId)>]);
    let filter = move || {
        let opt = |s: String| Some(s).filter(|s| !s.trim().is_empty());
        let after = pages.with(|p| p.last().copied().flatten());
        AuditFilter {
            action: opt(action.get()),
            object_type: opt(object.get()),
            actor: opt(actor.get()),
            before: after.map(|(ts, _)| ts),
            before_id: after.map(|(_, id)| id),
            limit: Some(AUDIT_PAGE),
            ..AuditFilter::default()
        }
    };
    let entries = Resource::new(filter, list_audit);
    let restart = move || set_pages.set(vec![None]);
    let export = move || {
        let f = filter();
        link(
            "/api/v1/audit.csv",
            &[
                ("action", f.action.unwrap_or_default()),
                ("object_type", f.object_type.unwrap_or_default()),
                ("actor", f.actor.unwrap_or_default()),
            ],
        )
    };
    view! {
        <PageHeader title="Audit" description="Every change anyone made, newest first, with what it was before and after. Secrets are never recorded."/>
        <div class="mb-3 flex flex-wrap items-end gap-3">
            <div class="space-y-1.5">
                <label class="label" for="audit-action">"Action starts with"</label>
                <input class="input" id="audit-action" maxlength="254" placeholder="key. or team.member"
                    prop:value=action on:change=move |ev| { set_action.set(event_target_value(&ev)); restart(); }/>
            </div>
            <div class="space-y-1.5">
                <label class="label" for="audit-object">"Object"</label>
                <select class="input w-auto" id="audit-object" on:change=move |ev| { set_object.set(event_target_value(&ev)); restart(); }>
                    <option value="">"All"</option>
                    {OBJECT_TYPES.iter().map(|t| view! { <option value=*t>{*t}</option> }).collect_view()}
                </select>
            </div>
            <div class="space-y-1.5">
                <label class="label" for="audit-actor">"Who (exact)"</label>
                <input class="input" id="audit-actor" maxlength="254" placeholder="ana@example.com or master key"
                    prop:value=actor on:change=move |ev| { set_actor.set(event_target_value(&ev)); restart(); }/>
            </div>
            <a class="btn" href=export download="tollgate-audit.csv" data-testid="audit-export">"Export CSV"</a>
        </div>
        <Suspense fallback=|| view! { <p class="text-sm text-zinc-500">"Loading…"</p> }>
            {move || entries.get().map(|r| match r {
                Ok(list) if list.is_empty() && pages.with(|p| p.len() == 1) => view! {
                    <EmptyState headline="No changes match."/>
                }.into_any(),
                Ok(list) => {
                    let next = (list.len() == AUDIT_PAGE as usize)
                        .then(|| list.last().map(|e| (e.ts.0, e.id)))
                        .flatten();
                    let first = pages.with(|p| p.len() == 1);
                    view! {
                        <div class="card overflow-x-auto">
                            <table class="w-full text-sm" data-testid="audit-table">
                                <thead class="bg-zinc-50 text-left text-xs uppercase text-zinc-500 dark:bg-zinc-900">
                                    <tr><th class="px-4 py-2">"When"</th><th class="px-4 py-2">"Who"</th><th class="px-4 py-2">"Action"</th><th class="px-4 py-2">"Object"</th><th class="px-4 py-2">"Change"</th></tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|e| view! { <EntryRow e/> }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <Pager set_pages first next/>
                    }.into_any()
                }
                Err(e) => view! { <p role="alert" class="field-error">{e.to_string()}</p> }.into_any(),
            })}
        </Suspense>
    }
}

/// JSON text laid out for reading; anything that is not JSON as it was recorded.
fn pretty(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| text.to_owned())
}

#[component]
fn EntryRow(e: AuditEntry) -> impl IntoView {
    let has_change = e.before.is_some() || e.after.is_some();
    let action = e.action.clone();
    view! {
        <tr class="border-t border-zinc-100 align-top dark:border-zinc-800" data-action=action>
            <td class="whitespace-nowrap px-4 py-2 text-zinc-500">{e.ts.display_minutes()}</td>
            <td class="px-4 py-2">{e.actor_label}</td>
            <td class="px-4 py-2 font-mono text-xs">{e.action}</td>
            <td class="px-4 py-2 font-mono text-xs text-zinc-500">{e.object_type}" "{e.object_id.unwrap_or_default()}</td>
            <td class="px-4 py-2">
                {has_change.then(|| view! {
                    <details>
                        <summary class="cursor-pointer text-xs text-indigo-700 dark:text-indigo-300">"before / after"</summary>
                        <div class="mt-2 grid gap-2 lg:grid-cols-2">
                            <pre class="max-h-64 overflow-auto rounded bg-zinc-100 p-2 text-xs dark:bg-zinc-900">{e.before.as_deref().map_or_else(|| "(nothing)".to_owned(), pretty)}</pre>
                            <pre class="max-h-64 overflow-auto rounded bg-zinc-100 p-2 text-xs dark:bg-zinc-900">{e.after.as_deref().map_or_else(|| "(nothing)".to_owned(), pretty)}</pre>
                        </div>
                    </details>
                })}
            </td>
        </tr>
    }
}
