//! The audit log: every change, who made it and when.

use crate::components::empty::{EmptyState, PageHeader};
use crate::server_fns::audit::list_audit;
use leptos::prelude::*;

#[component]
pub fn AuditPage() -> impl IntoView {
    let entries = Resource::new(|| (), |_| list_audit(None));
    view! {
        <PageHeader title="Audit" description="Every change anyone made, newest first. Secrets are never recorded."/>
        <Suspense fallback=|| view! { <p class="text-sm text-zinc-500">"Loading…"</p> }>
            {move || entries.get().map(|r| match r {
                Ok(list) if list.is_empty() => view! { <EmptyState headline="No changes have been recorded yet."/> }.into_any(),
                Ok(list) => view! {
                    <div class="card overflow-hidden">
                        <table class="w-full text-sm" data-testid="audit-table">
                            <thead class="bg-zinc-50 text-left text-xs uppercase text-zinc-500 dark:bg-zinc-900">
                                <tr><th class="px-4 py-2">"When"</th><th class="px-4 py-2">"Who"</th><th class="px-4 py-2">"Action"</th><th class="px-4 py-2">"Object"</th></tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|e| view! {
                                    <tr class="border-t border-zinc-100 dark:border-zinc-800">
                                        <td class="whitespace-nowrap px-4 py-2 text-zinc-500">{e.ts.display_minutes()}</td>
                                        <td class="px-4 py-2">{e.actor_label}</td>
                                        <td class="px-4 py-2 font-mono text-xs">{e.action}</td>
                                        <td class="px-4 py-2 font-mono text-xs text-zinc-500">{e.object_type}" "{e.object_id.unwrap_or_default()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
                Err(e) => view! { <p role="alert" class="field-error">{e.to_string()}</p> }.into_any(),
            })}
        </Suspense>
    }
}
