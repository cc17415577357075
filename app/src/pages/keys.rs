//! Virtual keys: search and filter them, create one (its secret shown once), block, unblock and
//! delete. What each person sees and may change is decided on the server
//! (`crate::server::keys`); the buttons only ask.

use crate::components::empty::PageHeader;
use crate::components::form::{FormError, FormInput, Pager, successes};
use crate::components::format::money;
use crate::server_fns::analytics::get_spend_options;
use crate::server_fns::keys::{
    CreateKey, DeleteKey, RotateKey, SetKeyBlocked, UpdateKey, list_keys,
};
use leptos::prelude::*;
use tollgate_domain::KeyId;
use tollgate_domain::key_spec::{KeyFilter, KeySort};
use tollgate_domain::model::VirtualKey;

const PAGE: u32 = 50;

#[component]
pub fn KeysPage() -> impl IntoView {
    let create = ServerAction::<CreateKey>::new();
    let switch = ServerAction::<SetKeyBlocked>::new();
    let remove = ServerAction::<DeleteKey>::new();
    let rotate = ServerAction::<RotateKey>::new();
    let update = ServerAction::<UpdateKey>::new();
    let changed = [
        successes(create),
        successes(switch),
        successes(remove),
        successes(rotate),
        successes(update),
    ];
    let (team, set_team) = signal(String::new());
    let (search, set_search) = signal(String::new());
    let (state, set_state) = signal(String::new());
    let (sort, set_sort) = signal(KeySort::Newest);
    let (owner, set_owner) = signal(String::new());
    // The pages walked so far: each entry is the `after` of one page (the first is `None`).
    let (pages, set_pages) = signal(vec![None::<KeyId>]);
    let keys = Resource::new(
        move || {
            (
                search.get(),
                state.get(),
                (team.get(), owner.get()),
                sort.get(),
                pages.with(|p| p.last().copied().flatten()),
                changed.iter().map(|c| c.get()).sum::<usize>(),
            )
        },
        |(search, state, (team, owner), sort, after, _)| {
            list_keys(KeyFilter {
                search: Some(search).filter(|s| !s.trim().is_empty()),
                blocked: match state.as_str() {
                    "blocked" => Some(true),
                    "active" => Some(false),
                    _ => None,
                },
                expires_within_days: match state.as_str() {
                    "expiring" => Some(7),
                    "expired" => Some(0),
                    _ => None,
                },
                team: team.parse().ok(),
                owner_email: Some(owner).filter(|o| !o.trim().is_empty()),
                after,
                limit: Some(PAGE),
                sort,
                ..KeyFilter::default()
            })
        },
    );
    let options = Resource::new(|| (), |_| get_spend_options());
    let error = Signal::derive(move || {
        switch
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| remove.value().get().and_then(Result::err))
            .or_else(|| rotate.value().get().and_then(Result::err))
    });
    let restart = move || set_pages.set(vec![None]);
    view! {
        <PageHeader title="Keys" description="Virtual keys that call the gateway. A key's secret is shown once, when it is made; Tollgate keeps only its hash."/>
        <section class="card mb-6 p-4" aria-labelledby="new-key">
            <h2 id="new-key" class="mb-3 text-sm font-semibold">"New key"</h2>
            <ActionForm action=create>
                <div class="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
                    <FormInput label="Name" name="alias" hint="What people call it."/>
                    <div class="space-y-1.5">
                        <label class="label" for="team">"Team"</label>
                        <select class="input" id="team" name="form[team]">
                            <Suspense fallback=|| ()>
                                {move || options.get().and_then(Result::ok).map(|o| {
                                    let none = o.all_teams.then(|| view! { <option value="">"No team"</option> });
                                    view! {
                                        {none}
                                        {o.teams.into_iter().map(|(id, name)| view! {
                                            <option value=id.to_string()>{name}</option>
                                        }).collect_view()}
                                    }
                                })}
                            </Suspense>
                        </select>
                    </div>
                    <FormInput label="Models" name="models" hint="Names or patterns, comma-separated; empty: any the team allows."/>
                    <FormInput label="Budget ($)" name="max_budget" hint="Empty: no budget of its own."/>
                    <FormInput label="Budget period" name="budget_duration" hint="1d, 7d, 30d, 1mo; empty: never resets."/>
                    <FormInput label="Requests a minute" name="rpm_limit"/>
                    <FormInput label="Tokens a minute" name="tpm_limit"/>
                    <FormInput label="Expires" name="expires" kind="date"/>
                    <FormInput label="Instances" name="instances" hint="Gateway instances, comma-separated; empty: all."/>
                    <FormInput label="Metadata" name="metadata" hint="A JSON object kept with the key."/>
                </div>
                <div class="mt-3 flex items-center gap-3">
                    <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>"Create key"</button>
                    <FormError error=Signal::derive(move || create.value().get().and_then(Result::err))/>
                </div>
            </ActionForm>
            {move || create.value().get().and_then(Result::ok).map(|made| view! { <Secret made/> })}
        </section>
        <div class="mb-3 flex flex-wrap items-end gap-3">
            <div class="space-y-1.5">
                <label class="label" for="search">"Search"</label>
                <input class="input" id="search" type="search" maxlength="200" placeholder="name, sk-tg-abcd or wxyz"
                    prop:value=search on:change=move |ev| { set_search.set(event_target_value(&ev)); restart(); }/>
            </div>
            <div class="space-y-1.5">
                <label class="label" for="state">"State"</label>
                <select class="input w-auto" id="state" on:change=move |ev| { set_state.set(event_target_value(&ev)); restart(); }>
                    <option value="">"All"</option>
                    <option value="active">"Active"</option>
                    <option value="blocked">"Blocked"</option>
                    <option value="expiring">"Expiring within 7 days"</option>
                    <option value="expired">"Expired"</option>
                </select>
            </div>
            <div class="space-y-1.5">
                <label class="label" for="team-filter">"Team"</label>
                <select class="input w-auto" id="team-filter" on:change=move |ev| { set_team.set(event_target_value(&ev)); restart(); }>
                    <option value="">"All I may see"</option>
                    <Suspense fallback=|| ()>
                        {move || options.get().and_then(Result::ok).map(|o| o.teams.into_iter().map(|(id, name)| view! {
                            <option value=id.to_string()>{name}</option>
                        }).collect_view())}
                    </Suspense>
                </select>
            </div>
            <div class="space-y-1.5">
                <label class="label" for="owner-filter">"Owner"</label>
                <input class="input" id="owner-filter" type="email" maxlength="254" placeholder="their email"
                    prop:value=owner on:change=move |ev| { set_owner.set(event_target_value(&ev)); restart(); }/>
            </div>
            <div class="space-y-1.5">
                <label class="label" for="sort">"Sort"</label>
                <select class="input w-auto" id="sort" on:change=move |ev| {
                    set_sort.set(KeySort::parse(&event_target_value(&ev)).unwrap_or_default());
                    restart();
                }>
                    {KeySort::ALL.into_iter().map(|s| view! { <option value=s.as_str()>{s.label()}</option> }).collect_view()}
                </select>
            </div>
        </div>
        <FormError error/>
        {move || rotate.value().get().and_then(Result::ok).map(|made| view! { <Secret made/> })}
        <Suspense fallback=|| view! { <p class="text-sm text-zinc-500">"Loading…"</p> }>
            {move || keys.get().map(|r| match r {
                Ok(page) => {
                    let (next, now) = (page.next, page.now);
                    let first = pages.with(|p| p.len() == 1);
                    view! {
                        <div class="card overflow-x-auto">
                            <table class="w-full text-sm" data-testid="keys-table">
                                <thead class="bg-zinc-50 text-left text-xs uppercase text-zinc-500 dark:bg-zinc-900">
                                    <tr>
                                        <th class="px-4 py-2">"Name"</th><th class="px-4 py-2">"Key"</th>
                                        <th class="px-4 py-2">"Models"</th><th class="px-4 py-2">"Budget"</th>
                                        <th class="px-4 py-2 text-right">"Spend"</th><th class="px-4 py-2">"Last used"</th>
                                        <th class="px-4 py-2">"State"</th><th class="px-4 py-2"><span class="sr-only">"Actions"</span></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {page.keys.is_empty().then(|| view! {
                                        <tr><td colspan="8" class="px-4 py-6 text-center text-zinc-500">"No keys match."</td></tr>
                                    })}
                                    {page.keys.into_iter().map(|k| view! { <KeyRow k now switch remove rotate update/> }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <Pager set_pages first next back="Previous page" forward="Next page"/>
                    }.into_any()
                }
                Err(e) => view! { <p role="alert" class="field-error">{e.to_string()}</p> }.into_any(),
            })}
        </Suspense>
    }
}

/// The new key's secret, once: with a copy button and the warning that it will not be shown
/// again.
#[component]
pub fn Secret(made: tollgate_domain::key_spec::CreatedKey) -> impl IntoView {
    let (copied, set_copied) = signal(false);
    let secret = made.secret.clone();
    let copy = move |_| {
        let promise = window().navigator().clipboard().write_text(&secret);
        drop(promise);
        set_copied.set(true);
    };
    view! {
        <div role="status" class="mt-4 rounded-md border border-amber-300 bg-amber-50 p-3 dark:border-amber-700 dark:bg-amber-950/40" data-testid="new-secret">
            <p class="text-sm font-medium">"Copy this key now: it is shown only once, and Tollgate keeps only its hash."</p>
            <div class="mt-2 flex flex-wrap items-center gap-2">
                <code class="break-all rounded bg-white px-2 py-1 text-xs dark:bg-zinc-900" data-testid="secret">{made.secret}</code>
                <button type="button" class="btn" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
            </div>
            <p class="mt-1 text-xs text-zinc-500">{format!("Listed as {}.", made.key.masked())}</p>
        </div>
    }
}

#[component]
fn KeyRow(
    k: VirtualKey,
    now: tollgate_domain::Timestamp,
    switch: ServerAction<SetKeyBlocked>,
    remove: ServerAction<DeleteKey>,
    rotate: ServerAction<RotateKey>,
    update: ServerAction<UpdateKey>,
) -> impl IntoView {
    let id = k.id;
    let (editing, set_editing) = signal(false);
    let edit_form = k.clone();
    let rotate_name = k.alias.clone().unwrap_or_else(|| k.masked());
    let ask_rotate = move |_| {
        let answer = window()
            .prompt_with_message_and_default(
                &format!("Rotate {rotate_name}: a new secret is made. For how many hours should the old one keep working? (0: it stops now)"),
                "24",
            )
            .ok()
            .flatten();
        if let Some(hours) = answer.and_then(|h| h.trim().parse::<u64>().ok()) {
            rotate.dispatch(RotateKey {
                id,
                grace_seconds: hours.saturating_mul(3600),
            });
        }
    };
    let grace = k
        .previous_expires_at
        .filter(|until| *until > now)
        .map(|until| format!("old secret works until {}", until.display_minutes()));
    let blocked = k.blocked;
    let name = k.alias.clone().unwrap_or_else(|| "(no name)".to_owned());
    let confirm_name = name.clone();
    let models = k
        .allowed_models
        .as_ref()
        .map_or_else(|| "any".to_owned(), |m| m.join(", "));
    let budget = k.max_budget.map_or_else(
        || "none".to_owned(),
        |b| match &k.budget_duration {
            Some(d) => format!("{} / {d}", money(b)),
            None => money(b),
        },
    );
    let state = k.state(now);
    let ask_delete = move |_| {
        let sure = window()
            .confirm_with_message(&format!("Delete the key {confirm_name}? Requests with it will be refused; its spend history stays."))
            .unwrap_or(false);
        if sure {
            remove.dispatch(DeleteKey { id });
        }
    };
    view! {
        <tr class="border-t border-zinc-100 dark:border-zinc-800" data-key=id.to_string()>
            <td class="px-4 py-2 font-medium">{name}</td>
            <td class="px-4 py-2 font-mono text-xs">{k.masked()}</td>
            <td class="px-4 py-2">{models}</td>
            <td class="px-4 py-2">{budget}</td>
            <td class="px-4 py-2 text-right tabular-nums">{money(k.spend)}</td>
            <td class="px-4 py-2 text-zinc-500">{k.last_used_at.map_or_else(|| "never".to_owned(), |t| t.display_minutes())}</td>
            <td class="px-4 py-2">
                <span class="badge">{state}</span>
                {grace.map(|g| view! { <p class="mt-1 text-xs text-zinc-500">{g}</p> })}
            </td>
            <td class="px-4 py-2 text-right whitespace-nowrap">
                <button class="btn" on:click=move |_| { switch.dispatch(SetKeyBlocked { id, blocked: !blocked }); }>
                    {if blocked { "Unblock" } else { "Block" }}
                </button>
                " "
                <button class="btn" on:click=move |_| set_editing.update(|e| *e = !*e)>"Edit"</button>
                " "
                <button class="btn" on:click=ask_rotate>"Rotate"</button>
                " "
                <button class="btn" on:click=ask_delete>"Delete"</button>
            </td>
        </tr>
        {move || editing.get().then(|| view! { <EditRow k=edit_form.clone() update/> })}
    }
}

/// A key's edit form, filled with what it holds; saved with the version it was read at.
#[component]
fn EditRow(k: VirtualKey, update: ServerAction<UpdateKey>) -> impl IntoView {
    let id = k.id;
    let join = |v: &Option<Vec<String>>| v.as_ref().map(|m| m.join(", ")).unwrap_or_default();
    let whole = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let field = move |name: &str| format!("edit-{name}-{id}");
    view! {
        <tr class="bg-zinc-50 dark:bg-zinc-900" data-edit=id.to_string()>
            <td colspan="8" class="px-4 py-3">
                <ActionForm action=update>
                    <input type="hidden" name="id" value=id.to_string()/>
                    <input type="hidden" name="version" value=k.version.to_string()/>
                    <div class="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
                        <FormInput label="Name" name="alias" id=field("alias") value=k.alias.clone().unwrap_or_default()/>
                        <FormInput label="Models" name="models" id=field("models") value=join(&k.allowed_models)/>
                        <FormInput label="Budget ($)" name="max_budget" id=field("max_budget") value=k.max_budget.map(crate::components::format::dollars_input).unwrap_or_default()/>
                        <FormInput label="Budget period" name="budget_duration" id=field("budget_duration") value=k.budget_duration.clone().unwrap_or_default()/>
                        <FormInput label="Requests a minute" name="rpm_limit" id=field("rpm_limit") value=whole(k.rpm_limit)/>
                        <FormInput label="Tokens a minute" name="tpm_limit" id=field("tpm_limit") value=whole(k.tpm_limit)/>
                        <FormInput label="Expires" name="expires" kind="date" id=field("expires") value=k.expires_at.map(|t| t.display_date()).unwrap_or_default()/>
                        <FormInput label="Instances" name="instances" id=field("instances") value=join(&k.allowed_instances)/>
                        <FormInput label="Metadata" name="metadata" id=field("metadata") value=k.metadata.clone().unwrap_or_default()/>
                    </div>
                    <div class="mt-3 flex items-center gap-3">
                        <button type="submit" class="btn btn-primary" disabled=move || update.pending().get()>"Save"</button>
                        <FormError error=Signal::derive(move || update.value().get().and_then(Result::err))/>
                    </div>
                </ActionForm>
            </td>
        </tr>
    }
}
