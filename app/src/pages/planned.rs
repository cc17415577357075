//! Pages whose features arrive with later issues. Each says plainly what it will hold; none shows
//! invented data.

use crate::components::empty::{EmptyState, PageHeader};
use leptos::prelude::*;

#[component]
pub fn TeamsPage() -> impl IntoView {
    view! {
        <PageHeader title="Teams" description="Groups of users with a budget, limits and a self-service policy."/>
        <EmptyState headline="No teams yet: team management arrives with the portal issue."
            coming=&["Members with the roles team admin and member.", "A policy for the keys members may issue themselves."]/>
    }
}

#[component]
pub fn RoutesPage() -> impl IntoView {
    view! {
        <PageHeader title="Routes" description="Model names and the upstream deployments that serve them."/>
        <EmptyState headline="No model routes yet: routes arrive with the gateway issue."
            coming=&["Exact names, wildcards such as anthropic/*, and a catch-all.", "Deployments, strategies, retries, fallbacks and a test button."]/>
    }
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <PageHeader title="Settings" description="Credentials, price overrides and instances."/>
        <EmptyState headline="Nothing to configure here yet."
            coming=&["Upstream credentials (write-only secrets).", "Model price overrides.", "The list of gateway instances."]/>
    }
}
