//! Changing one's password (forced after a one-time password).

use crate::components::form::{Field, FormError, hard_navigate};
use crate::server_fns::auth::{ChangePassword, get_me};
use leptos::prelude::*;
use leptos_meta::Title;
use tollgate_domain::validate::MIN_PASSWORD_LEN;

#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let who = Resource::new(|| (), |_| get_me());
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    Effect::new(move |_| {
        if let Some(Ok(())) = action.value().get() {
            hard_navigate("/");
        }
    });
    view! {
        <Title text="Change password"/>
        <main class="flex min-h-screen items-center justify-center px-4">
            <div class="card w-full max-w-md p-8">
                <h1 class="text-lg font-semibold">"Change your password"</h1>
                <Suspense fallback=|| ()>
                    {move || who.get().and_then(Result::ok).map(|m| view! {
                        <p class="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
                            {if m.must_change_password {
                                "You signed in with a one-time password. Choose your own to continue."
                            } else {
                                "Other sessions of this account end when you change it."
                            }}
                        </p>
                    })}
                </Suspense>
                <div class="mt-6">
                    <ActionForm action=action>
                        <div class="space-y-4">
                            <Field label="Current password" name="current_password" kind="password" autocomplete="current-password"/>
                            <Field label="New password" name="new_password" kind="password" autocomplete="new-password" hint=PASSWORD_HINT/>
                            <Field label="Repeat the new password" name="confirm_password" kind="password" autocomplete="new-password"/>
                            <FormError error/>
                            <button type="submit" class="btn btn-primary w-full" disabled=move || action.pending().get()>
                                "Change password"
                            </button>
                        </div>
                    </ActionForm>
                </div>
            </div>
        </main>
    }
}

const PASSWORD_HINT: &str = "At least 12 characters. A few unrelated words make a good one.";
// The hint names the rule's number: keep the two together.
const _: () = assert!(MIN_PASSWORD_LEN == 12);
