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

/// A labelled optional input of a form whose server function takes one struct: named
/// `{group}[{name}]` (`form[alias]`), with the id `name` in the group `form` and `{group}-{name}`
/// in any other, so two forms on a page keep their ids apart. `value` fills it in for an edit.
#[component]
pub fn FormInput(
    label: &'static str,
    name: &'static str,
    #[prop(default = "form")] group: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(optional, into)] value: String,
    /// Overrides the id, for a form repeated on one page (a row's edit form).
    #[prop(optional, into)]
    id: Option<String>,
) -> impl IntoView {
    let id = id.unwrap_or_else(|| {
        if group == "form" {
            name.to_owned()
        } else {
            format!("{group}-{name}")
        }
    });
    view! {
        <div class="space-y-1.5">
            <label class="label" for=id.clone()>{label}</label>
            <input class="input" id=id name=format!("{group}[{name}]") type=kind maxlength="1000" value=value/>
            {(!hint.is_empty()).then(|| view! { <p class="text-xs text-zinc-500">{hint}</p> })}
        </div>
    }
}

/// "Newer" and "Older" over keyset pages. `set_pages` holds where each page walked so far
/// starts (the first is `None`); `next` is where the page after this one starts, if any.
#[component]
pub fn Pager<T>(
    set_pages: WriteSignal<Vec<Option<T>>>,
    first: bool,
    next: Option<T>,
    /// The buttons' words: a list newest first pages to "Newer" and "Older".
    #[prop(default = "Newer")]
    back: &'static str,
    #[prop(default = "Older")] forward: &'static str,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    let older = next.clone();
    view! {
        <div class="mt-3 flex gap-2">
            <button class="btn" disabled=first on:click=move |_| set_pages.update(|p| { p.pop(); })>{back}</button>
            <button class="btn" disabled=next.is_none() on:click=move |_| set_pages.update(|p| p.push(older.clone()))>{forward}</button>
        </div>
    }
}

/// How many times `action` has succeeded. Lists reload on this, not on `version()`: a refused
/// change leaves the data as it was, so reloading would only read it again and blank the list
/// (and a refused edit keeps its form open with what was typed).
pub fn successes<S>(action: ServerAction<S>) -> ReadSignal<usize>
where
    S: leptos::server_fn::ServerFn + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    let (count, set_count) = signal(0usize);
    Effect::new(move |_| {
        if action.value().with(|v| matches!(v, Some(Ok(_)))) {
            set_count.update(|n| *n += 1);
        }
    });
    count
}
