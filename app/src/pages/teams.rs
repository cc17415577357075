//! Teams: the list (and, for admins, a create form), and each team's page: its budget and
//! limits, its self-service policy, and its members. What each person may change is decided on
//! the server (`crate::server::teams`); the forms only ask.

use crate::components::empty::PageHeader;
use crate::components::form::{FormError, FormInput, successes};
use crate::components::format::money;
use crate::server_fns::auth::get_me;
use crate::server_fns::teams::{
    AddTeamMember, CreateTeam, DeleteTeam, RemoveTeamMember, SetTeamMemberRole, SetTeamPolicy,
    TeamView, UpdateTeam, get_team, list_teams,
};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use tollgate_domain::authz::{GlobalRole, TeamRole};
use tollgate_domain::model::{RosterEntry, Team};
use tollgate_domain::policy::MemberPolicy;
use tollgate_domain::{Micros, TeamId};

fn limit(v: Option<i64>) -> String {
    v.map_or_else(|| "none".to_owned(), |n| n.to_string())
}

fn budget(b: Option<Micros>, period: Option<&str>) -> String {
    match (b, period) {
        (None, _) => "none".to_owned(),
        (Some(b), Some(p)) => format!("{} / {p}", money(b)),
        (Some(b), None) => money(b),
    }
}

/// The policy in one line, or "open".
fn policy_summary(p: &MemberPolicy) -> String {
    if p.is_open() {
        return "open: the team's own limits".to_owned();
    }
    let mut parts = Vec::new();
    if let Some(m) = &p.models {
        parts.push(format!("models {}", m.join(", ")));
    }
    if let Some(b) = p.max_budget {
        parts.push(format!("≤ {} a key", money(b)));
    }
    if let Some(n) = p.max_rpm {
        parts.push(format!("≤ {n} rpm"));
    }
    if let Some(n) = p.max_tpm {
        parts.push(format!("≤ {n} tpm"));
    }
    if let Some(n) = p.max_parallel {
        parts.push(format!("≤ {n} parallel"));
    }
    if let Some(n) = p.max_keys {
        parts.push(format!("≤ {n} keys each"));
    }
    if let Some(d) = p.max_expiry_days {
        parts.push(format!("expire within {d} d"));
    }
    parts.join(" · ")
}

#[component]
pub fn TeamsPage() -> impl IntoView {
    let create = ServerAction::<CreateTeam>::new();
    let me = Resource::new(|| (), |_| get_me());
    let created = successes(create);
    let teams = Resource::new(move || created.get(), |_| list_teams());
    view! {
        <PageHeader title="Teams" description="Groups of users with a budget, limits and a self-service policy for the keys members make themselves."/>
        <Suspense fallback=|| ()>
            {move || me.get().and_then(Result::ok).filter(|m| m.role == GlobalRole::Admin).map(|_| view! {
                <section class="card mb-6 p-4" aria-labelledby="new-team">
                    <h2 id="new-team" class="mb-3 text-sm font-semibold">"New team"</h2>
                    <ActionForm action=create>
                        <div class="grid gap-3 sm:grid-cols-2 lg:grid-cols-5">
                            <FormInput label="Name" name="name"/>
                            <FormInput label="Budget ($)" name="max_budget" hint="Empty: no budget."/>
                            <FormInput label="Budget period" name="budget_duration" hint="1d, 7d, 30d, 1mo."/>
                            <FormInput label="Requests a minute" name="rpm_limit"/>
                            <FormInput label="Tokens a minute" name="tpm_limit"/>
                        </div>
                        <div class="mt-3 flex items-center gap-3">
                            <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>"Create team"</button>
                            <FormError error=Signal::derive(move || create.value().get().and_then(Result::err))/>
                        </div>
                    </ActionForm>
                </section>
            })}
        </Suspense>
        <Suspense fallback=|| view! { <p class="text-sm text-zinc-500">"Loading…"</p> }>
            {move || teams.get().map(|r| match r {
                Ok(list) => view! {
                    <div class="card overflow-x-auto">
                        <table class="w-full text-sm" data-testid="teams-table">
                            <thead class="bg-zinc-50 text-left text-xs uppercase text-zinc-500 dark:bg-zinc-900">
                                <tr>
                                    <th class="px-4 py-2">"Name"</th><th class="px-4 py-2">"Budget"</th>
                                    <th class="px-4 py-2">"Requests / min"</th><th class="px-4 py-2">"Tokens / min"</th>
                                    <th class="px-4 py-2 text-right">"Spend"</th><th class="px-4 py-2">"Member policy"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {list.is_empty().then(|| view! {
                                    <tr><td colspan="6" class="px-4 py-6 text-center text-zinc-500">"No teams yet."</td></tr>
                                })}
                                {list.into_iter().map(|t| view! { <TeamRow t/> }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
                Err(e) => view! { <p role="alert" class="field-error">{e.to_string()}</p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn TeamRow(t: Team) -> impl IntoView {
    view! {
        <tr class="border-t border-zinc-100 dark:border-zinc-800" data-team=t.id.to_string()>
            <td class="px-4 py-2 font-medium">
                <a class="text-indigo-700 hover:underline dark:text-indigo-300" href=format!("/teams/{}", t.id)>{t.name.clone()}</a>
            </td>
            <td class="px-4 py-2">{budget(t.max_budget, t.budget_duration.as_deref())}</td>
            <td class="px-4 py-2">{limit(t.rpm_limit)}</td>
            <td class="px-4 py-2">{limit(t.tpm_limit)}</td>
            <td class="px-4 py-2 text-right tabular-nums">{money(t.spend)}</td>
            <td class="px-4 py-2 text-zinc-600 dark:text-zinc-400">{policy_summary(&t.policy)}</td>
        </tr>
    }
}

#[component]
pub fn TeamPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|s| s.parse::<TeamId>().ok()));
    let update = ServerAction::<UpdateTeam>::new();
    let policy = ServerAction::<SetTeamPolicy>::new();
    let add = ServerAction::<AddTeamMember>::new();
    let role = ServerAction::<SetTeamMemberRole>::new();
    let remove = ServerAction::<RemoveTeamMember>::new();
    let delete = ServerAction::<DeleteTeam>::new();
    let changed = [
        successes(update),
        successes(policy),
        successes(add),
        successes(role),
        successes(remove),
    ];
    let team = Resource::new(
        move || (id(), changed.iter().map(|c| c.get()).sum::<usize>()),
        |(id, _)| async move {
            match id {
                Some(id) => get_team(id).await,
                None => Err(crate::error::AppError::NotFound),
            }
        },
    );
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            crate::components::form::hard_navigate("/teams");
        }
    });
    view! {
        <Suspense fallback=|| view! { <p class="text-sm text-zinc-500">"Loading…"</p> }>
            {move || team.get().map(|r| match r {
                Ok(v) => view! { <TeamDetail v update policy add role remove delete/> }.into_any(),
                Err(e) => view! {
                    <PageHeader title="Team"/>
                    <p role="alert" class="field-error">{e.to_string()}</p>
                }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn TeamDetail(
    v: TeamView,
    update: ServerAction<UpdateTeam>,
    policy: ServerAction<SetTeamPolicy>,
    add: ServerAction<AddTeamMember>,
    role: ServerAction<SetTeamMemberRole>,
    remove: ServerAction<RemoveTeamMember>,
    delete: ServerAction<DeleteTeam>,
) -> impl IntoView {
    let t = v.team.clone();
    let id = t.id;
    let name = t.name.clone();
    let text = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let dollars = |v: Option<Micros>| {
        v.map(crate::components::format::dollars_input)
            .unwrap_or_default()
    };
    let days = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
    let p = t.policy.clone();
    let ask_delete = move |_| {
        let sure = window()
            .confirm_with_message(&format!("Delete the team {name}? Its members leave it; a team that still has keys cannot be deleted."))
            .unwrap_or(false);
        if sure {
            delete.dispatch(DeleteTeam { id });
        }
    };
    let member_error = Signal::derive(move || {
        role.value()
            .get()
            .and_then(Result::err)
            .or_else(|| remove.value().get().and_then(Result::err))
    });
    view! {
        <leptos_meta::Title text=t.name.clone()/>
        <div class="mb-6 flex items-start justify-between gap-4">
            <div>
                <p class="text-sm text-zinc-500"><a class="hover:underline" href="/teams">"Teams"</a>" /"</p>
                <h1 class="text-2xl font-semibold tracking-tight" data-testid="team-name">{t.name.clone()}</h1>
                <p class="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
                    {format!("Spend so far {} · budget {} · requests a minute: {} · tokens a minute: {}",
                        money(t.spend), budget(t.max_budget, t.budget_duration.as_deref()), limit(t.rpm_limit), limit(t.tpm_limit))}
                </p>
            </div>
            {v.can_edit.then(|| view! { <button class="btn" on:click=ask_delete>"Delete team"</button> })}
        </div>
        <FormError error=Signal::derive(move || delete.value().get().and_then(Result::err))/>

        {v.can_edit.then(|| view! {
            <section class="card mb-6 p-4" aria-labelledby="team-settings">
                <h2 id="team-settings" class="mb-3 text-sm font-semibold">"Budget and limits"</h2>
                <ActionForm action=update>
                    <input type="hidden" name="id" value=id.to_string()/>
                    <div class="grid gap-3 sm:grid-cols-2 lg:grid-cols-5">
                        <FormInput label="Name" name="name" value=t.name.clone()/>
                        <FormInput label="Budget ($)" name="max_budget" value=dollars(t.max_budget)/>
                        <FormInput label="Budget period" name="budget_duration" value=t.budget_duration.clone().unwrap_or_default()/>
                        <FormInput label="Requests a minute" name="rpm_limit" value=text(t.rpm_limit)/>
                        <FormInput label="Tokens a minute" name="tpm_limit" value=text(t.tpm_limit)/>
                    </div>
                    <div class="mt-3 flex items-center gap-3">
                        <button type="submit" class="btn btn-primary" disabled=move || update.pending().get()>"Save"</button>
                        <FormError error=Signal::derive(move || update.value().get().and_then(Result::err))/>
                        {move || update.value().get().and_then(Result::ok).map(|_| view! { <span role="status" class="text-sm text-emerald-700">"Saved."</span> })}
                    </div>
                </ActionForm>
            </section>
        })}

        <section class="card mb-6 p-4" aria-labelledby="team-policy">
            <h2 id="team-policy" class="text-sm font-semibold">"Member self-service policy"</h2>
            <p class="mb-3 text-xs text-zinc-500">"What members may give the keys they make for themselves. Empty: only the team's own limits. Team admins are held to the team's limits, not to this."</p>
            {if v.can_manage {
                view! {
                    <ActionForm action=policy>
                        <input type="hidden" name="id" value=id.to_string()/>
                        <div class="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
                            <FormInput group="policy" label="Models members may grant" name="models" value=p.models.clone().map(|m| m.join(", ")).unwrap_or_default() hint="Names or patterns, comma-separated."/>
                            <FormInput group="policy" label="Largest budget a key ($)" name="max_budget" value=dollars(p.max_budget)/>
                            <FormInput group="policy" label="Most requests a minute" name="max_rpm" value=text(p.max_rpm)/>
                            <FormInput group="policy" label="Most tokens a minute" name="max_tpm" value=text(p.max_tpm)/>
                            <FormInput group="policy" label="Most requests at once" name="max_parallel" value=text(p.max_parallel)/>
                            <FormInput group="policy" label="Keys per member" name="max_keys" value=p.max_keys.map(|n| n.to_string()).unwrap_or_default()/>
                            <FormInput group="policy" label="Default expiry (days)" name="default_expiry_days" value=days(p.default_expiry_days)/>
                            <FormInput group="policy" label="Longest expiry (days)" name="max_expiry_days" value=days(p.max_expiry_days)/>
                        </div>
                        <div class="mt-3 flex items-center gap-3">
                            <button type="submit" class="btn btn-primary" disabled=move || policy.pending().get()>"Save policy"</button>
                            <FormError error=Signal::derive(move || policy.value().get().and_then(Result::err))/>
                            {move || policy.value().get().and_then(Result::ok).map(|_| view! { <span role="status" class="text-sm text-emerald-700">"Policy saved."</span> })}
                        </div>
                    </ActionForm>
                }.into_any()
            } else {
                view! { <p class="text-sm" data-testid="policy-summary">{policy_summary(&p)}</p> }.into_any()
            }}
        </section>

        <section class="card p-4" aria-labelledby="team-members">
            <h2 id="team-members" class="mb-3 text-sm font-semibold">"Members"</h2>
            {v.can_manage.then(|| view! {
                <ActionForm action=add attr:class="mb-4 flex flex-wrap items-end gap-3">
                    <input type="hidden" name="team" value=id.to_string()/>
                    <div class="space-y-1.5">
                        <label class="label" for="member-email">"Email of an existing user"</label>
                        <input class="input" id="member-email" name="email" type="email" maxlength="254" required/>
                    </div>
                    <div class="space-y-1.5">
                        <label class="label" for="member-role">"Role"</label>
                        <select class="input w-auto" id="member-role" name="role">
                            <option value="member">"member"</option>
                            <option value="team_admin">"team admin"</option>
                        </select>
                    </div>
                    <button type="submit" class="btn btn-primary" disabled=move || add.pending().get()>"Add member"</button>
                    <FormError error=Signal::derive(move || add.value().get().and_then(Result::err))/>
                </ActionForm>
            })}
            <FormError error=member_error/>
            <table class="w-full text-sm" data-testid="members-table">
                <thead class="text-left text-xs uppercase text-zinc-500">
                    <tr><th class="py-2">"Email"</th><th class="py-2">"Name"</th><th class="py-2">"Role"</th><th class="py-2">"Added"</th><th class="py-2"><span class="sr-only">"Actions"</span></th></tr>
                </thead>
                <tbody>
                    {v.members.is_empty().then(|| view! {
                        <tr><td colspan="5" class="py-4 text-center text-zinc-500">"No members yet."</td></tr>
                    })}
                    {v.members.into_iter().map(|m| view! { <MemberRow m team=id manage=v.can_manage role remove/> }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn MemberRow(
    m: RosterEntry,
    team: TeamId,
    manage: bool,
    role: ServerAction<SetTeamMemberRole>,
    remove: ServerAction<RemoveTeamMember>,
) -> impl IntoView {
    let user = m.user.id;
    let email = m.user.email.clone();
    let other = match m.role {
        TeamRole::TeamAdmin => TeamRole::Member,
        TeamRole::Member => TeamRole::TeamAdmin,
    };
    let ask_remove = move |_| {
        let sure = window()
            .confirm_with_message(&format!("Remove {email} from the team?"))
            .unwrap_or(false);
        if sure {
            remove.dispatch(RemoveTeamMember { team, user });
        }
    };
    view! {
        <tr class="border-t border-zinc-100 dark:border-zinc-800" data-member=m.user.email.clone()>
            <td class="py-2 font-medium">{m.user.email.clone()}</td>
            <td class="py-2">{m.user.name.clone()}</td>
            <td class="py-2"><span class="badge">{m.role.as_str()}</span></td>
            <td class="py-2 text-zinc-500">{m.added_at.display_minutes()}</td>
            <td class="py-2 text-right whitespace-nowrap">
                {manage.then(|| view! {
                    <button class="btn" on:click=move |_| { role.dispatch(SetTeamMemberRole { team, user, role: other.as_str().to_owned() }); }>
                        {format!("Make {}", other.as_str().replace('_', " "))}
                    </button>
                    " "
                    <button class="btn" on:click=ask_remove>"Remove"</button>
                })}
            </td>
        </tr>
    }
}
