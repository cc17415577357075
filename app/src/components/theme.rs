//! Light and dark: a toggle that flips the `dark` class on `<html>` and remembers the choice.

use super::icons;
use leptos::prelude::*;

pub const THEME_KEY: &str = "tollgate-theme";

#[component]
pub fn ThemeToggle() -> impl IntoView {
    let toggle = move |_| {
        let Some(root) = document().document_element() else {
            return;
        };
        let classes = root.class_list();
        let dark = !classes.contains("dark");
        let _ = classes.toggle_with_force("dark", dark);
        if let Ok(Some(storage)) = window().local_storage() {
            let _ = storage.set_item(THEME_KEY, if dark { "dark" } else { "light" });
        }
    };
    view! {
        <button
            type="button"
            data-testid="theme-toggle"
            aria-label="Switch between light and dark"
            title="Switch between light and dark"
            class="rounded-md p-2 text-zinc-500 hover:bg-zinc-100 hover:text-zinc-900 dark:text-zinc-400 dark:hover:bg-zinc-800 dark:hover:text-zinc-100"
            on:click=toggle
        >
            <span class="block dark:hidden">{icons::moon()}</span>
            <span class="hidden dark:block">{icons::sun()}</span>
        </button>
    }
}
