//! The Tollgate portal: pages, components and server functions, rendered on the server (`ssr`)
//! and hydrated in the browser (`hydrate`).

// The views' static types nest deeply (the dashboard's panels); the default 128 is too few.
#![recursion_limit = "256"]

pub mod app;
pub mod components;
pub mod error;
pub mod pages;
pub mod server_fns;

/// The server side of the portal: sessions, passwords, sign-in throttling, request principal.
#[cfg(feature = "ssr")]
pub mod server;

pub use app::{App, shell};

/// Entry point of the wasm bundle: takes over the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
