//! Users: who can sign in, and with which role. Admins create them (with a one-time password
//! to hand over), change their role, disable them (their sessions end at once and their keys
//! stop at the gateways' next reload), give them a new one-time password, and delete them.

use crate::components::empty::PageHeader;
use crate::components::form::{FormError, FormInput, successes};
use crate::server_fns::auth::get_me;
use crate::server_fns::users::{
    CreateUser, DeleteUser, ResetUserPassword, SetUserDisabled, SetUserRole, list_users,
};
use leptos::prelude::*;
use tollgate_domain::authz::GlobalRole;
use tollgate_domain::model::User;

#[component]
pub fn UsersPage() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let role = ServerAction::<SetUserRole>::new();
    let disable = ServerAction::<SetUserDisabled>::new();
    let reset = ServerAction::<ResetUserPassword>::new();
    let delete = ServerAction::<DeleteUser>::new();
    let me = Resource::new(|| (), |_| get_me());
    let changed = [
        successes(create),
        successes(role),
        successes(disable),
        successes(delete),
    ];
    let users = Resource::new(
        move || changed.iter().map(|c| c.get()).sum::<usize>(),
        |_| list_users(0),
    );
    let admin = move || {
        me.get()
            .and_then(Result::ok)
            .is_some_and(|m| m.role == GlobalRole::Admin)
    };
    let error = Signal::derive(move || {
        role.value()
            .get()
            .and_then(Result::err)
            .or_else(|| disable.value().get().and_then(Result::err))
            .or_else(|| reset.value().get().and_then(Result::err))
            .or_else(|| delete.value().get().and_then(Result::err))
    });
    view! {
        <PageHeader title="Users" description="Accounts that can sign in to the portal. Team roles are set on each team's page."/>
        <Suspense fallback=|| ()>
            {move || admin().then(|| view! {
                <section class="card mb-6 p-4" aria-labelledby="new-user">
                    <h2 id="new-user" class="mb-3 text-sm font-semibold">"New user"</h2>
                    <ActionForm action=create>
                        <div class="grid gap-3 sm:grid-cols-3">
                            <FormInput label="Email" name="email" kind="email"/>
                            <FormInput label="Name" name="name" hint="Empty: the email."/>
                            <div class="space-y-1.5">
                                <label class="label" for="role">"Role"</label>
                                <select class="input" id="role" name="form[role]">
                                    <option value="user">"user: rights from their teams"</option>
                                    <option value="viewer">"viewer: reads everything"</option>
                                    <option value="admin">"admin: everything"</option>
                                </select>
                            </div>
                        </div>
                        <div class="mt-3 flex items-center gap-3">
                            <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>"Create user"</button>
                            <FormError error=Signal::derive(move || create.value().get().and_then(Result::err))/>
                        </div>
                    </ActionForm>
                    {move || create.value().get().and_then(Result::ok).map(|made| view! {
                        <OneTimePassword email=made.user.email password=made.password/>
                    })}
                </section>
            })}
        </Suspense>
        {move || reset.value().get().and_then(Result::ok).map(|made| view! {
            <OneTimePassword email=made.user.email password=made.password/>
        })}
        <FormError error/>
        <Suspense fallback=|| view! { <p class="text-sm text-zinc-500">"Loading…"</p> }>
            {move || users.get().map(|r| match r {
                Ok(list) => {
                    let manage = admin();
                    view! {
                        <div class="card overflow-x-auto">
                            <table class="w-full text-sm" data-testid="users-table">
                                <thead class="bg-zinc-50 text-left text-xs uppercase text-zinc-500 dark:bg-zinc-900">
                                    <tr><th class="px-4 py-2">"Email"</th><th class="px-4 py-2">"Name"</th><th class="px-4 py-2">"Role"</th><th class="px-4 py-2">"Status"</th><th class="px-4 py-2">"Created"</th><th class="px-4 py-2"><span class="sr-only">"Actions"</span></th></tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|u| view! { <UserRow u manage role disable reset delete/> }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                }
                Err(e) => view! { <p role="alert" class="field-error">{e.to_string()}</p> }.into_any(),
            })}
        </Suspense>
    }
}

/// A one-time password, shown once, to hand to its user.
#[component]
fn OneTimePassword(email: String, password: String) -> impl IntoView {
    let whom = email;
    view! {
        <div role="status" class="mt-4 rounded-md border border-amber-300 bg-amber-50 p-3 dark:border-amber-700 dark:bg-amber-950/40" data-testid="one-time-password">
            <p class="text-sm font-medium">{format!("Give {whom} this one-time password. It is shown only once; they choose their own when they first sign in.")}</p>
            <code class="mt-2 inline-block rounded bg-white px-2 py-1 text-xs dark:bg-zinc-900" data-testid="password">{password}</code>
        </div>
    }
}

#[component]
fn UserRow(
    u: User,
    manage: bool,
    role: ServerAction<SetUserRole>,
    disable: ServerAction<SetUserDisabled>,
    reset: ServerAction<ResetUserPassword>,
    delete: ServerAction<DeleteUser>,
) -> impl IntoView {
    let id = u.id;
    let disabled = u.disabled;
    let (ask_email, confirm_email) = (u.email.clone(), u.email.clone());
    let current = u.role;
    let ask_delete = move |_| {
        let sure = window()
            .confirm_with_message(&format!(
                "Delete {ask_email}? A user who still owns keys cannot be deleted."
            ))
            .unwrap_or(false);
        if sure {
            delete.dispatch(DeleteUser { id });
        }
    };
    let ask_disable = move |_| {
        let sure = disabled
            || window()
                .confirm_with_message(&format!("Disable {confirm_email}? They are signed out at once and their keys stop working."))
                .unwrap_or(false);
        if sure {
            disable.dispatch(SetUserDisabled {
                id,
                disabled: !disabled,
            });
        }
    };
    let status = if u.disabled {
        "disabled"
    } else if u.must_change_password {
        "must change password"
    } else {
        "active"
    };
    view! {
        <tr class="border-t border-zinc-100 dark:border-zinc-800" data-user=u.email.clone()>
            <td class="px-4 py-2 font-medium">{u.email.clone()}</td>
            <td class="px-4 py-2">{u.name.clone()}</td>
            <td class="px-4 py-2">
                {if manage {
                    view! {
                        <select class="input w-auto py-1" aria-label=format!("Role of {}", u.email)
                            on:change=move |ev| { role.dispatch(SetUserRole { id, role: event_target_value(&ev) }); }>
                            {GlobalRole::ALL.into_iter().map(|r| view! {
                                <option value=r.as_str() selected=r == current>{r.as_str()}</option>
                            }).collect_view()}
                        </select>
                    }.into_any()
                } else {
                    view! { <span class="badge">{current.as_str()}</span> }.into_any()
                }}
            </td>
            <td class="px-4 py-2">{status}</td>
            <td class="px-4 py-2 text-zinc-500">{u.created_at.display_minutes()}</td>
            <td class="px-4 py-2 text-right whitespace-nowrap">
                {manage.then(|| view! {
                    <button class="btn" on:click=ask_disable>{if disabled { "Enable" } else { "Disable" }}</button>
                    " "
                    <button class="btn" on:click=move |_| { reset.dispatch(ResetUserPassword { id }); }>"New password"</button>
                    " "
                    <button class="btn" on:click=ask_delete>"Delete"</button>
                })}
            </td>
        </tr>
    }
}
