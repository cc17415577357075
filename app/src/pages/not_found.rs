//! Any path that is not a page.

use leptos::prelude::*;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <leptos_meta::Title text="Not found"/>
        <main class="flex min-h-screen flex-col items-center justify-center gap-3">
            <h1 class="text-2xl font-semibold">"There is no page here."</h1>
            <a href="/" class="text-indigo-600 hover:underline dark:text-indigo-400">"Go to the dashboard"</a>
        </main>
    }
}
