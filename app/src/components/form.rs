//! Form pieces: labelled inputs and the error line read by screen readers.

use crate::error::AppError;
use leptos::prelude::*;

/// Shows a server function's error as one readable sentence (`role="alert"`).
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! {
                <p role="alert" class="field-error rounded-md bg-red-50 px-3 py-2 dark:bg-red-950/40">
                    {e.to_string()}
                </p>
            }
        })
    }
}

/// A labelled input. `name` is also its id.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(default = 256)] maxlength: usize,
) -> impl IntoView {
    view! {
        <div class="space-y-1.5">
            <label class="label" for=name>{label}</label>
            <input class="input" id=name name=name type=kind autocomplete=autocomplete
                maxlength=maxlength required/>
            {(!hint.is_empty()).then(|| view! { <p class="text-xs text-zinc-500">{hint}</p> })}
        </div>
    }
}

/// Leaves the single-page app: used after sign-in and sign-out so every piece of state is fresh.
pub fn hard_navigate(path: &str) {
    let _ = window().location().set_href(path);
}
