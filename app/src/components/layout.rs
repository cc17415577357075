//! The signed-in layout: navigation on the left, the principal and actions on top.

use super::form::hard_navigate;
use super::icons;
use super::theme::ThemeToggle;
use crate::server_fns::auth::{SignOut, get_me};
use leptos::prelude::*;
use leptos_router::components::{A, Outlet};

struct NavItem {
    href: &'static str,
    label: &'static str,
    icon: fn() -> AnyView,
}

const NAV: &[NavItem] = &[
    NavItem {
        href: "/",
        label: "Dashboard",
        icon: || icons::gauge().into_any(),
    },
    NavItem {
        href: "/keys",
        label: "Keys",
        icon: || icons::key().into_any(),
    },
    NavItem {
        href: "/teams",
        label: "Teams",
        icon: || icons::users().into_any(),
    },
    NavItem {
        href: "/users",
        label: "Users",
        icon: || icons::user().into_any(),
    },
    NavItem {
        href: "/routes",
        label: "Routes",
        icon: || icons::route().into_any(),
    },
    NavItem {
        href: "/spend",
        label: "Spend",
        icon: || icons::chart().into_any(),
    },
    NavItem {
        href: "/logs",
        label: "Logs",
        icon: || icons::list().into_any(),
    },
    NavItem {
        href: "/instances",
        label: "Instances",
        icon: || icons::server().into_any(),
    },
    NavItem {
        href: "/audit",
        label: "Audit",
        icon: || icons::shield().into_any(),
    },
    NavItem {
        href: "/settings",
        label: "Settings",
        icon: || icons::cog().into_any(),
    },
];

#[component]
pub fn Shell() -> impl IntoView {
    let who = Resource::new(|| (), |_| get_me());
    view! {
        <div class="flex min-h-screen">
            <aside class="sticky top-0 flex h-screen w-56 shrink-0 flex-col border-r border-zinc-200 bg-white px-3 py-4 dark:border-zinc-800 dark:bg-zinc-900">
                <a href="/" class="mb-6 flex items-center gap-2 px-2 text-lg font-semibold tracking-tight">
                    <span class="inline-flex h-7 w-7 items-center justify-center rounded-md bg-indigo-600 text-sm text-white">"T"</span>
                    "Tollgate"
                </a>
                <nav aria-label="Main" class="flex flex-col gap-0.5">
                    {NAV.iter().map(|item| view! {
                        <A href=item.href exact=true attr:class="flex items-center gap-2.5 rounded-md px-2.5 py-1.5 text-sm text-zinc-600 hover:bg-zinc-100 hover:text-zinc-900 aria-[current=page]:bg-indigo-50 aria-[current=page]:font-medium aria-[current=page]:text-indigo-700 dark:text-zinc-400 dark:hover:bg-zinc-800 dark:hover:text-zinc-100 dark:aria-[current=page]:bg-indigo-500/10 dark:aria-[current=page]:text-indigo-300">
                            {(item.icon)()}
                            {item.label}
                        </A>
                    }).collect_view()}
                </nav>
            </aside>
            <div class="flex min-w-0 flex-1 flex-col">
                <header class="flex h-14 items-center justify-end gap-2 border-b border-zinc-200 bg-white/70 px-6 backdrop-blur dark:border-zinc-800 dark:bg-zinc-900/70">
                    <Suspense fallback=|| ()>
                        {move || who.get().map(|r| match r {
                            Ok(m) => view! {
                                <a href="/account/password" class="mr-2 text-sm text-zinc-600 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-zinc-100" data-testid="whoami">
                                    {m.label}
                                    <span class="badge ml-2">{m.role.as_str()}</span>
                                </a>
                            }.into_any(),
                            Err(e) => view! { <span class="text-sm text-red-600">{e.to_string()}</span> }.into_any(),
                        })}
                    </Suspense>
                    <ThemeToggle/>
                    <SignOutButton/>
                </header>
                <main class="mx-auto w-full max-w-6xl flex-1 px-8 py-8">
                    <Outlet/>
                </main>
            </div>
        </div>
    }
}

/// A form, so it also works before the page has hydrated.
#[component]
fn SignOutButton() -> impl IntoView {
    let action = ServerAction::<SignOut>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = action.value().get() {
            hard_navigate("/signin");
        }
    });
    view! {
        <ActionForm action=action>
            <button type="submit" data-testid="sign-out" class="btn btn-secondary">"Sign out"</button>
        </ActionForm>
    }
}
