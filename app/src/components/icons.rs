//! Inline SVG icons (stroke, 24-unit grid), so nothing loads from a CDN.

use leptos::prelude::*;

fn icon(d: &'static str) -> impl IntoView {
    view! {
        <svg class="h-4 w-4" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8"
            stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
            <path d=d/>
        </svg>
    }
}

pub fn moon() -> impl IntoView {
    icon("M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z")
}
pub fn sun() -> impl IntoView {
    icon(
        "M12 4V2m0 20v-2m8-8h2M2 12h2m13.66-5.66 1.41-1.41M4.93 19.07l1.41-1.41m0-11.32L4.93 4.93m14.14 14.14-1.41-1.41M16 12a4 4 0 1 1-8 0 4 4 0 0 1 8 0z",
    )
}
pub fn gauge() -> impl IntoView {
    icon("M12 14l4-4M3.34 17a10 10 0 1 1 17.32 0")
}
pub fn key() -> impl IntoView {
    icon("M15 7a4 4 0 1 1-3.87 5H9v2H7v2H4v-3l5.13-5.13A4 4 0 0 1 15 7z")
}
pub fn users() -> impl IntoView {
    icon(
        "M17 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm14 10v-2a4 4 0 0 0-3-3.87M16 3.13a4 4 0 0 1 0 7.75",
    )
}
pub fn user() -> impl IntoView {
    icon("M20 21v-2a4 4 0 0 0-4-4H8a4 4 0 0 0-4 4v2M12 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z")
}
pub fn route() -> impl IntoView {
    icon(
        "M6 3v12M18 9a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM6 21a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM18 9a9 9 0 0 1-9 9",
    )
}
pub fn chart() -> impl IntoView {
    icon("M3 3v18h18M7 15l4-4 3 3 5-6")
}
pub fn list() -> impl IntoView {
    icon("M8 6h13M8 12h13M8 18h13M3 6h.01M3 12h.01M3 18h.01")
}
pub fn server() -> impl IntoView {
    icon("M4 4h16v6H4zM4 14h16v6H4zM8 7h.01M8 17h.01")
}
pub fn shield() -> impl IntoView {
    icon("M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z")
}
pub fn cog() -> impl IntoView {
    icon(
        "M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z",
    )
}
