//! The document shell and the route table.

use crate::components::layout::Shell;
use crate::pages::{
    account::ChangePasswordPage,
    audit::AuditPage,
    dashboard::DashboardPage,
    instance::InstancePage,
    instances::InstancesPage,
    keys::KeysPage,
    log_detail::LogDetailPage,
    logs::LogsPage,
    not_found::NotFoundPage,
    routes::RoutesPage,
    settings::SettingsPage,
    signin::SignInPage,
    spend::SpendPage,
    teams::{TeamPage, TeamsPage},
    users::UsersPage,
};
use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

/// Applies the saved (or the system's) theme before first paint, so dark mode never flashes.
const THEME_SCRIPT: &str = "(function(){try{var t=localStorage.getItem('tollgate-theme');\
if(t==='dark'||(!t&&window.matchMedia('(prefers-color-scheme: dark)').matches)){\
document.documentElement.classList.add('dark')}}catch(e){}})()";

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <script inner_html=THEME_SCRIPT></script>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="bg-zinc-50 text-zinc-900 antialiased dark:bg-zinc-950 dark:text-zinc-100">
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: this marks the page as hydrated for people and tests.
    Effect::new(|_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="tollgate" href="/pkg/tollgate.css"/>
        <Title formatter=|page: String| format!("{page} · Tollgate")/>
        <Router>
            <Routes fallback=NotFoundPage>
                <Route path=path!("/signin") view=SignInPage/>
                <Route path=path!("/account/password") view=ChangePasswordPage/>
                <ParentRoute path=path!("") view=Shell>
                    <Route path=path!("") view=DashboardPage/>
                    <Route path=path!("keys") view=KeysPage/>
                    <Route path=path!("teams") view=TeamsPage/>
                    <Route path=path!("teams/:id") view=TeamPage/>
                    <Route path=path!("users") view=UsersPage/>
                    <Route path=path!("routes") view=RoutesPage/>
                    <Route path=path!("spend") view=SpendPage/>
                    <Route path=path!("logs") view=LogsPage/>
                    <Route path=path!("logs/:id") view=LogDetailPage/>
                    <Route path=path!("instances") view=InstancesPage/>
                    <Route path=path!("instances/:name") view=InstancePage/>
                    <Route path=path!("audit") view=AuditPage/>
                    <Route path=path!("settings") view=SettingsPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
