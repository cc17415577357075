//! The honest empty state: what will be on a page, never invented data.

use leptos::prelude::*;

#[component]
pub fn EmptyState(
    /// One sentence: what is (not yet) here.
    headline: &'static str,
    /// What this page will hold, one item a line.
    #[prop(optional)]
    coming: &'static [&'static str],
) -> impl IntoView {
    view! {
        <div class="card border-dashed p-8 text-center" data-testid="empty-state">
            <p class="text-base font-medium">{headline}</p>
            {(!coming.is_empty()).then(|| view! {
                <ul class="mx-auto mt-4 max-w-xl space-y-1 text-left text-sm text-zinc-600 dark:text-zinc-400">
                    {coming.iter().map(|c| view! { <li class="flex gap-2"><span aria-hidden="true">"·"</span>{*c}</li> }).collect_view()}
                </ul>
            })}
        </div>
    }
}

/// A page heading with an optional one-line description.
#[component]
pub fn PageHeader(
    title: &'static str,
    #[prop(optional)] description: &'static str,
) -> impl IntoView {
    view! {
        <leptos_meta::Title text=title/>
        <div class="mb-6">
            <h1 class="text-2xl font-semibold tracking-tight">{title}</h1>
            {(!description.is_empty()).then(|| view! {
                <p class="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{description}</p>
            })}
        </div>
    }
}
