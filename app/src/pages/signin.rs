//! The sign-in page.

use crate::components::form::{Field, FormError, hard_navigate};
use crate::server_fns::auth::SignIn;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    Effect::new(move |_| {
        if let Some(Ok(next)) = action.value().get() {
            hard_navigate(&next);
        }
    });
    view! {
        <Title text="Sign in"/>
        <main class="flex min-h-screen items-center justify-center px-4">
            <div class="w-full max-w-sm">
                <div class="mb-8 flex items-center justify-center gap-2 text-xl font-semibold tracking-tight">
                    <span class="inline-flex h-8 w-8 items-center justify-center rounded-md bg-indigo-600 text-white">"T"</span>
                    "Tollgate"
                </div>
                <div class="card p-8">
                    <h1 class="mb-6 text-lg font-semibold">"Sign in"</h1>
                    <ActionForm action=action>
                        <div class="space-y-4">
                            <Field label="Email" name="email" autocomplete="username"
                                hint="Or \"master\" with the master key as password."/>
                            <Field label="Password" name="password" kind="password" autocomplete="current-password"/>
                            <FormError error/>
                            <button type="submit" class="btn btn-primary w-full" disabled=move || action.pending().get()>
                                {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
                            </button>
                        </div>
                    </ActionForm>
                </div>
            </div>
        </main>
    }
}
