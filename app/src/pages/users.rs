//! Users: who can sign in, and with which role.

use crate::components::empty::PageHeader;
use crate::server_fns::users::list_users;
use leptos::prelude::*;

#[component]
pub fn UsersPage() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users(0));
    view! {
        <PageHeader title="Users" description="Accounts that can sign in to the portal. Creating, disabling and role changes arrive with the portal issue."/>
        <Suspense fallback=|| view! { <p class="text-sm text-zinc-500">"Loading…"</p> }>
            {move || users.get().map(|r| match r {
                Ok(list) => view! {
                    <div class="card overflow-hidden">
                        <table class="w-full text-sm" data-testid="users-table">
                            <thead class="bg-zinc-50 text-left text-xs uppercase text-zinc-500 dark:bg-zinc-900">
                                <tr><th class="px-4 py-2">"Email"</th><th class="px-4 py-2">"Name"</th><th class="px-4 py-2">"Role"</th><th class="px-4 py-2">"Status"</th><th class="px-4 py-2">"Created"</th></tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|u| view! {
                                    <tr class="border-t border-zinc-100 dark:border-zinc-800">
                                        <td class="px-4 py-2 font-medium">{u.email}</td>
                                        <td class="px-4 py-2">{u.name}</td>
                                        <td class="px-4 py-2"><span class="badge">{u.role.as_str()}</span></td>
                                        <td class="px-4 py-2">{if u.disabled { "disabled" } else if u.must_change_password { "must change password" } else { "active" }}</td>
                                        <td class="px-4 py-2 text-zinc-500">{u.created_at.display_minutes()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
                Err(e) => view! { <p role="alert" class="field-error">{e.to_string()}</p> }.into_any(),
            })}
        </Suspense>
    }
}
