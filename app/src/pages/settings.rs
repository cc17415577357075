//! Settings: upstream credentials (their secrets are write-only: stored encrypted, never shown),
//! model price overrides, and the gateway instances routes and keys can name. Admins change
//! credentials and prices; everyone signed in reads them.

use crate::components::empty::PageHeader;
use crate::components::form::{FormError, FormInput, successes};
use crate::components::format::money;
use crate::pages::instances::HealthBadge;
use crate::server_fns::instances::get_instances;
use crate::server_fns::settings::{
    CreateCredential, DeleteCredential, DeletePrice, SetPrice, get_settings,
};
use leptos::prelude::*;
use tollgate_domain::routing::ProviderKind;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let add_credential = ServerAction::<CreateCredential>::new();
    let remove_credential = ServerAction::<DeleteCredential>::new();
    let set_price = ServerAction::<SetPrice>::new();
    let remove_price = ServerAction::<DeletePrice>::new();
    let changed = [
        successes(add_credential),
        successes(remove_credential),
        successes(set_price),
        successes(remove_price),
    ];
    let settings = Resource::new(
        move || changed.iter().map(|c| c.get()).sum::<usize>(),
        |_| get_settings(),
    );
    let error = Signal::derive(move || {
        remove_credential
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| remove_price.value().get().and_then(Result::err))
    });
    view! {
        <PageHeader title="Settings" description="Upstream credentials, model price overrides, and the gateway instances. Every change reaches the gateways through the change feed."/>
        <FormError error/>
        <Suspense fallback=|| view! { <p class="text-sm text-zinc-500">"Loading…"</p> }>
            {move || settings.get().map(|r| match r {
                Ok(s) => view! {
                    <section class="card mb-6 p-4" aria-labelledby="credentials">
                        <h2 id="credentials" class="text-sm font-semibold">"Credentials"</h2>
                        <p class="mb-3 text-xs text-zinc-500">"A secret is stored encrypted with TOLLGATE_SECRET_KEY and never shown again; a reference (env:VAR, file:/path) is read by each gateway when it loads its routes."</p>
                        {s.can_manage.then(|| view! {
                            <ActionForm action=add_credential>
                                <div class="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
                                    <FormInput label="Name" name="name"/>
                                    <div class="space-y-1.5">
                                        <label class="label" for="provider">"Provider"</label>
                                        <select class="input" id="provider" name="form[provider]">
                                            {ProviderKind::ALL.into_iter().map(|p| view! { <option value=p.as_str()>{p.as_str()}</option> }).collect_view()}
                                        </select>
                                    </div>
                                    <div class="space-y-1.5">
                                        <label class="label" for="secret">"Secret"</label>
                                        <input class="input" id="secret" name="form[secret]" type="password" autocomplete="off" maxlength="8192" disabled=!s.can_seal/>
                                        <p class="text-xs text-zinc-500">{if s.can_seal { "Write-only." } else { "TOLLGATE_SECRET_KEY is not set: use a reference." }}</p>
                                    </div>
                                    <FormInput label="Or a reference" name="reference" hint="env:OPENAI_API_KEY"/>
                                </div>
                                <div class="mt-3 flex items-center gap-3">
                                    <button type="submit" class="btn btn-primary" disabled=move || add_credential.pending().get()>"Add credential"</button>
                                    <FormError error=Signal::derive(move || add_credential.value().get().and_then(Result::err))/>
                                </div>
                            </ActionForm>
                        })}
                        <table class="mt-4 w-full text-sm" data-testid="credentials-table">
                            <thead class="text-left text-xs uppercase text-zinc-500">
                                <tr><th class="py-2">"Name"</th><th class="py-2">"Provider"</th><th class="py-2">"Secret"</th><th class="py-2">"Added"</th><th class="py-2"><span class="sr-only">"Actions"</span></th></tr>
                            </thead>
                            <tbody>
                                {s.credentials.is_empty().then(|| view! { <tr><td colspan="5" class="py-4 text-center text-zinc-500">"No credentials yet."</td></tr> })}
                                {s.credentials.into_iter().map(|c| {
                                    let id = c.id;
                                    let name = c.name.clone();
                                    let ask = move |_| {
                                        if window().confirm_with_message(&format!("Delete the credential {name}?")).unwrap_or(false) {
                                            remove_credential.dispatch(DeleteCredential { id });
                                        }
                                    };
                                    view! {
                                        <tr class="border-t border-zinc-100 dark:border-zinc-800" data-credential=c.name.clone()>
                                            <td class="py-2 font-medium">{c.name.clone()}</td>
                                            <td class="py-2">{c.provider.clone()}</td>
                                            <td class="py-2 font-mono text-xs">{c.reference.clone().unwrap_or_else(|| "stored encrypted".to_owned())}</td>
                                            <td class="py-2 text-zinc-500">{c.created_at.display_minutes()}</td>
                                            <td class="py-2 text-right">{s.can_manage.then(|| view! { <button class="btn" on:click=ask>"Delete"</button> })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                    <section class="card p-4" aria-labelledby="prices">
                        <h2 id="prices" class="text-sm font-semibold">"Price overrides"</h2>
                        <p class="mb-3 text-xs text-zinc-500">"Dollars per million tokens, by model name or prefix pattern; they replace the built-in price table for spend from the gateways' next reload."</p>
                        {s.can_manage.then(|| view! {
                            <ActionForm action=set_price>
                                <div class="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
                                    <FormInput label="Model or pattern" name="pattern" hint="gpt-4o or openai/*"/>
                                    <FormInput label="Input ($ / 1M)" name="input"/>
                                    <FormInput label="Output ($ / 1M)" name="output"/>
                                    <FormInput label="Cached input ($ / 1M)" name="cached_input" hint="Empty: the input price."/>
                                </div>
                                <div class="mt-3 flex items-center gap-3">
                                    <button type="submit" class="btn btn-primary" disabled=move || set_price.pending().get()>"Set price"</button>
                                    <FormError error=Signal::derive(move || set_price.value().get().and_then(Result::err))/>
                                </div>
                            </ActionForm>
                        })}
                        <table class="mt-4 w-full text-sm" data-testid="prices-table">
                            <thead class="text-left text-xs uppercase text-zinc-500">
                                <tr><th class="py-2">"Model"</th><th class="py-2 pr-4 text-right">"Input"</th><th class="py-2 pr-4 text-right">"Output"</th><th class="py-2 pr-4 text-right">"Cached input"</th><th class="py-2">"Set"</th><th class="py-2"><span class="sr-only">"Actions"</span></th></tr>
                            </thead>
                            <tbody>
                                {s.prices.is_empty().then(|| view! { <tr><td colspan="6" class="py-4 text-center text-zinc-500">"No overrides: the built-in prices apply."</td></tr> })}
                                {s.prices.into_iter().map(|p| {
                                    let pattern = p.pattern.clone();
                                    let ask = move |_| {
                                        remove_price.dispatch(DeletePrice { pattern: pattern.clone() });
                                    };
                                    view! {
                                        <tr class="border-t border-zinc-100 dark:border-zinc-800" data-price=p.pattern.clone()>
                                            <td class="py-2 font-mono text-xs">{p.pattern.clone()}</td>
                                            <td class="py-2 pr-4 text-right tabular-nums">{money(p.input_per_mtok)}</td>
                                            <td class="py-2 pr-4 text-right tabular-nums">{money(p.output_per_mtok)}</td>
                                            <td class="py-2 pr-4 text-right tabular-nums">{p.cached_input_per_mtok.map_or_else(|| "as input".to_owned(), money)}</td>
                                            <td class="py-2 text-zinc-500">{p.updated_at.display_minutes()}</td>
                                            <td class="py-2 text-right">{s.can_manage.then(|| view! { <button class="btn" on:click=ask.clone()>"Remove"</button> })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                }.into_any(),
                Err(e) => view! { <p role="alert" class="field-error">{e.to_string()}</p> }.into_any(),
            })}
        </Suspense>
        <InstanceList/>
    }
}

/// The named gateway instances (from Kubernetes and the gateways' heartbeats): the names a
/// route's instance and a key's allowed instances refer to, with the configuration revision
/// each one's pods have applied.
#[component]
fn InstanceList() -> impl IntoView {
    let report = Resource::new(|| (), |_| get_instances());
    view! {
        <section class="card mt-6 p-4" aria-labelledby="instances">
            <h2 id="instances" class="text-sm font-semibold">"Gateway instances"</h2>
            <p class="mb-3 text-xs text-zinc-500">"Each is named by TOLLGATE_INSTANCE (in a cluster, its Deployment's label). A route or a key limited to instances names them; the Instances page has each one's pods, Services and findings."</p>
            <Suspense fallback=|| view! { <p class="text-sm text-zinc-500">"Loading…"</p> }>
                {move || report.get().map(|r| match r {
                    Ok(r) if r.instances.is_empty() => view! {
                        <p class="text-sm text-zinc-500">"No gateway instance has reported yet."</p>
                    }.into_any(),
                    Ok(r) => view! {
                        <table class="w-full text-sm" data-testid="instances-table">
                            <thead class="text-left text-xs uppercase text-zinc-500">
                                <tr><th class="py-2">"Name"</th><th class="py-2">"Health"</th><th class="py-2">"Pods ready"</th><th class="py-2">"Configuration revision applied"</th></tr>
                            </thead>
                            <tbody>
                                {r.instances.into_iter().map(|i| {
                                    let ready = i.pods.iter().filter(|p| p.ready).count();
                                    let mut revisions: Vec<i64> = i.pods.iter().filter_map(|p| p.heartbeat.as_ref()).filter(|h| !h.stale).map(|h| h.config_revision).collect();
                                    revisions.sort_unstable();
                                    revisions.dedup();
                                    let applied = match revisions.as_slice() {
                                        [] => "no live heartbeat".to_owned(),
                                        [one] => one.to_string(),
                                        [first, .., last] => format!("{first} to {last} (pods differ)"),
                                    };
                                    view! {
                                        <tr class="border-t border-zinc-100 dark:border-zinc-800" data-settings-instance=i.name.clone()>
                                            <td class="py-2"><a class="font-medium text-indigo-600 hover:underline dark:text-indigo-400" href=format!("/instances/{}", i.name)>{i.name.clone()}</a></td>
                                            <td class="py-2"><HealthBadge health=i.health.clone()/></td>
                                            <td class="py-2 tabular-nums">{format!("{ready}/{}", i.pods.len())}</td>
                                            <td class="py-2 tabular-nums">{applied}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <p role="alert" class="field-error">{e.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
    .into_any()
}
