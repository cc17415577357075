//! Model routes: every route the gateways serve (the database's, and `tollgate.toml`'s shown
//! read-only), with their deployments; admins add a route with one deployment here (more
//! through the admin API) and delete database routes.

use crate::components::empty::PageHeader;
use crate::components::form::{FormError, FormInput, successes};
use crate::server_fns::settings::{
    ApplyLitellmImport, CreateRoute, DeleteRoute, PreviewLitellmImport, TestRoute, UpdateRoute,
    list_routes,
};
use leptos::prelude::*;
use tollgate_domain::routing::{
    Credential, Pattern, ProviderKind, Route, RouteSource, RouteTest, Strategy,
};

#[component]
pub fn RoutesPage() -> impl IntoView {
    let create = ServerAction::<CreateRoute>::new();
    let delete = ServerAction::<DeleteRoute>::new();
    let apply = ServerAction::<ApplyLitellmImport>::new();
    let update = ServerAction::<UpdateRoute>::new();
    let changed = [
        successes(create),
        successes(delete),
        successes(apply),
        successes(update),
    ];
    let view = Resource::new(
        move || changed.iter().map(|c| c.get()).sum::<usize>(),
        |_| list_routes(),
    );
    view! {
        <PageHeader title="Routes" description="Model names clients may call, and the upstream deployments that serve them. Exact names win over wildcards such as anthropic/*, and * catches the rest."/>
        <Suspense fallback=|| view! { <p class="text-sm text-zinc-500">"Loading…"</p> }>
            {move || view.get().map(|r| match r {
                Ok(v) => {
                    let credentials = v.credentials.clone();
                    view! {
                        {v.can_manage.then(|| view! {
                            <NewRoute create credentials=credentials.clone()/>
                            <Import apply/>
                        })}
                        <FormError error=Signal::derive(move || delete.value().get().and_then(Result::err))/>
                        <div class="card overflow-x-auto">
                            <table class="w-full text-sm" data-testid="routes-table">
                                <thead class="bg-zinc-50 text-left text-xs uppercase text-zinc-500 dark:bg-zinc-900">
                                    <tr>
                                        <th class="px-4 py-2">"Model"</th><th class="px-4 py-2">"Instance"</th>
                                        <th class="px-4 py-2">"Strategy"</th><th class="px-4 py-2">"Deployments"</th>
                                        <th class="px-4 py-2">"Retries · timeout · fallbacks"</th><th class="px-4 py-2">"Source"</th>
                                        <th class="px-4 py-2"><span class="sr-only">"Actions"</span></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {v.routes.is_empty().then(|| view! {
                                        <tr><td colspan="7" class="px-4 py-6 text-center text-zinc-500">"No routes yet: clients get 404 for every model."</td></tr>
                                    })}
                                    {v.routes.into_iter().map(|r| view! { <RouteRow r credentials=credentials.clone() manage=v.can_manage delete update/> }).collect_view()}
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

#[component]
fn NewRoute(create: ServerAction<CreateRoute>, credentials: Vec<Credential>) -> impl IntoView {
    view! {
        <section class="card mb-6 p-4" aria-labelledby="new-route">
            <h2 id="new-route" class="mb-3 text-sm font-semibold">"New route"</h2>
            <ActionForm action=create>
                <div class="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
                    <FormInput label="Model name" name="model_name" hint="gpt-4o, anthropic/*, or *."/>
                    <FormInput label="Instance" name="instance" hint="Empty: every instance."/>
                    <div class="space-y-1.5">
                        <label class="label" for="strategy">"Strategy"</label>
                        <select class="input" id="strategy" name="form[strategy]">
                            {Strategy::ALL.into_iter().map(|s| view! { <option value=s.as_str()>{s.as_str().replace('_', " ")}</option> }).collect_view()}
                        </select>
                    </div>
                    <FormInput label="Timeout (ms)" name="timeout_ms"/>
                    <FormInput label="Retries" name="retries" hint="On other deployments; 0 to 10."/>
                    <FormInput label="Fallbacks" name="fallbacks" hint="Model names, comma-separated."/>
                    <div class="space-y-1.5">
                        <label class="label" for="provider">"Provider"</label>
                        <select class="input" id="provider" name="form[provider]">
                            {ProviderKind::ALL.into_iter().map(|p| view! { <option value=p.as_str()>{p.as_str()}</option> }).collect_view()}
                        </select>
                    </div>
                    <FormInput label="Upstream model" name="upstream_model" hint="Empty on a wildcard: the matched suffix."/>
                    <FormInput label="API base" name="api_base" hint="Empty: the provider's public API."/>
                    <div class="space-y-1.5">
                        <label class="label" for="credential">"Credential"</label>
                        <select class="input" id="credential" name="form[credential]">
                            <option value="">"none"</option>
                            {credentials.into_iter().map(|c| view! { <option value=c.id.to_string()>{format!("{} ({})", c.name, c.provider)}</option> }).collect_view()}
                        </select>
                        <p class="text-xs text-zinc-500">"Secrets are added under Settings."</p>
                    </div>
                </div>
                <div class="mt-3 flex items-center gap-3">
                    <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>"Create route"</button>
                    <FormError error=Signal::derive(move || create.value().get().and_then(Result::err))/>
                </div>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// Import a LiteLLM config: pasted, previewed (what would be created, what is left out), then
/// applied; the same conversion as `tollgate import litellm`.
#[component]
fn Import(apply: ServerAction<ApplyLitellmImport>) -> impl IntoView {
    let preview = ServerAction::<PreviewLitellmImport>::new();
    let (config, set_config) = signal(String::new());
    let (instance, set_instance) = signal(String::new());
    let ask = move |_| {
        preview.dispatch(PreviewLitellmImport {
            config: config.get(),
            instance: instance.get(),
        });
    };
    let run = move |_| {
        apply.dispatch(ApplyLitellmImport {
            config: config.get(),
            instance: instance.get(),
        });
    };
    view! {
        <details class="card mb-6 p-4" data-testid="import">
            <summary class="cursor-pointer text-sm font-semibold">"Import a LiteLLM config"</summary>
            <div class="mt-3 space-y-3">
                <div class="space-y-1.5">
                    <label class="label" for="import-config">"config.yaml (model_list and router_settings)"</label>
                    <textarea class="input h-48 font-mono text-xs" id="import-config" maxlength="524288"
                        prop:value=config on:input=move |ev| set_config.set(event_target_value(&ev))></textarea>
                </div>
                <div class="flex flex-wrap items-end gap-3">
                    <div class="space-y-1.5">
                        <label class="label" for="import-instance">"Instance"</label>
                        <input class="input" id="import-instance" placeholder="every instance" maxlength="63"
                            prop:value=instance on:input=move |ev| set_instance.set(event_target_value(&ev))/>
                    </div>
                    <button type="button" class="btn" on:click=ask disabled=move || preview.pending().get()>"Preview"</button>
                </div>
                <FormError error=Signal::derive(move || preview.value().get().and_then(Result::err))/>
                {move || preview.value().get().and_then(Result::ok).map(|p| view! {
                    <div data-testid="import-preview" class="space-y-2 text-sm">
                        <p class="font-medium">{format!("{} route(s) would be created; nothing is written until you apply.", p.routes.len())}</p>
                        <ul class="space-y-0.5">
                            {p.routes.into_iter().map(|r| view! {
                                <li data-import-route=r.model_name.clone()>
                                    <span class="font-mono text-xs">{r.model_name.clone()}</span>
                                    {format!(": {} deployment(s), {}", r.deployments.len(), r.strategy.as_str().replace('_', " "))}
                                </li>
                            }).collect_view()}
                        </ul>
                        {(!p.credentials.is_empty()).then(|| view! {
                            <p>{format!("Credential references: {}", p.credentials.join(", "))}</p>
                        })}
                        {(!p.not_converted.is_empty()).then(|| view! {
                            <div>
                                <p class="font-medium text-amber-700 dark:text-amber-400">"Not converted"</p>
                                <ul class="list-disc pl-5 text-xs">{p.not_converted.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
                            </div>
                        })}
                        <button type="button" class="btn btn-primary" on:click=run disabled=move || apply.pending().get()>"Apply"</button>
                    </div>
                })}
                <FormError error=Signal::derive(move || apply.value().get().and_then(Result::err))/>
                {move || apply.value().get().and_then(Result::ok).map(|lines| view! {
                    <ul role="status" data-testid="import-report" class="text-xs">{lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
                })}
            </div>
        </details>
    }
    .into_any()
}

#[component]
fn RouteRow(
    r: Route,
    credentials: Vec<Credential>,
    manage: bool,
    delete: ServerAction<DeleteRoute>,
    update: ServerAction<UpdateRoute>,
) -> impl IntoView {
    let id = r.id;
    let (editing, set_editing) = signal(false);
    let (testing, set_testing) = signal(false);
    let test = ServerAction::<TestRoute>::new();
    // An exact route is tested by its own name; a wildcard needs one typed.
    let (test_model, set_test_model) = signal(match Pattern::parse(&r.model_name) {
        Pattern::Exact(name) => name.to_owned(),
        _ => String::new(),
    });
    let test_hint = match Pattern::parse(&r.model_name) {
        Pattern::Exact(_) => String::new(),
        Pattern::Prefix(p) => format!("{p}…"),
        Pattern::Any => "any model name".to_owned(),
    };
    let (spec, set_spec) = signal(spec_json(&r));
    let model = r.model_name.clone();
    let from_db = r.source == RouteSource::Db;
    let credential_name = move |c: Option<tollgate_domain::CredentialId>| {
        c.and_then(|c| {
            credentials
                .iter()
                .find(|x| x.id == c)
                .map(|x| x.name.clone())
        })
    };
    let deployments = r
        .deployments
        .iter()
        .map(|d| {
            let upstream = if d.upstream_model.is_empty() {
                "(the matched suffix)".to_owned()
            } else {
                d.upstream_model.clone()
            };
            let mut line = format!("{} {upstream}", d.provider.as_str());
            if let Some(b) = &d.api_base {
                line.push_str(&format!(" at {b}"));
            }
            if let Some(c) = credential_name(d.credential_id) {
                line.push_str(&format!(" · key {c}"));
            }
            if r.deployments.len() > 1 {
                line.push_str(&format!(" · weight {}", d.weight));
            }
            if !d.enabled {
                line.push_str(" · disabled");
            }
            line
        })
        .collect::<Vec<_>>();
    let alias = r.alias_of.clone().map(|a| format!("alias of {a}"));
    let mut policy = vec![format!("{} retries", r.retries)];
    if let Some(t) = r.timeout_ms {
        policy.push(format!("{t} ms"));
    }
    if !r.fallbacks.is_empty() {
        policy.push(format!("then {}", r.fallbacks.join(", ")));
    }
    if !r.header_match.is_empty() {
        let h: Vec<String> = r
            .header_match
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        policy.push(format!("when {}", h.join(", ")));
    }
    let ask_delete = move |_| {
        let sure = window()
            .confirm_with_message(&format!("Delete the route {model}? Requests for it get 404 (or a wildcard's answer) at once."))
            .unwrap_or(false);
        if sure {
            delete.dispatch(DeleteRoute { id });
        }
    };
    view! {
        <tr class="border-t border-zinc-100 align-top dark:border-zinc-800" data-route=r.model_name.clone()>
            <td class="px-4 py-2 font-mono text-xs font-medium">{r.model_name.clone()}</td>
            <td class="px-4 py-2">{r.instance.clone().unwrap_or_else(|| "every instance".to_owned())}</td>
            <td class="px-4 py-2">{r.strategy.as_str().replace('_', " ")}</td>
            <td class="px-4 py-2">
                {alias.map(|a| view! { <p>{a}</p> })}
                <ul class="space-y-0.5">{deployments.into_iter().map(|d| view! { <li class="text-xs">{d}</li> }).collect_view()}</ul>
            </td>
            <td class="px-4 py-2 text-xs text-zinc-600 dark:text-zinc-400">{policy.join(" · ")}</td>
            <td class="px-4 py-2">
                <span class="badge">{if from_db { "portal" } else { "tollgate.toml (read-only)" }}</span>
            </td>
            <td class="whitespace-nowrap px-4 py-2 text-right">
                {manage.then(|| view! {
                    <button class="btn" on:click=move |_| set_testing.update(|t| *t = !*t)>"Test"</button>
                })}
                {(manage && from_db).then(|| view! {
                    " "
                    <button class="btn" on:click=move |_| set_editing.update(|e| *e = !*e)>"Edit"</button>
                    " "
                    <button class="btn" on:click=ask_delete>"Delete"</button>
                })}
            </td>
        </tr>
        {move || testing.get().then(|| view! {
            <tr class="bg-zinc-50 dark:bg-zinc-900" data-test-route=id.to_string()>
                <td colspan="7" class="px-4 py-3">
                    <div class="flex flex-wrap items-end gap-3">
                        <div class="space-y-1.5">
                            <label class="label" for=format!("test-model-{id}")>"Model to request"</label>
                            <input class="input font-mono text-xs" id=format!("test-model-{id}") maxlength="256"
                                placeholder=test_hint.clone()
                                prop:value=test_model on:input=move |ev| set_test_model.set(event_target_value(&ev))/>
                        </div>
                        <button type="button" class="btn btn-primary" disabled=move || test.pending().get()
                            on:click=move |_| { test.dispatch(TestRoute { id, model: test_model.get() }); }>
                            {move || if test.pending().get() { "Sending…" } else { "Send test request" }}
                        </button>
                        <p class="text-xs text-zinc-500">"One short chat request (at most 16 tokens) through this route, its retries and fallbacks. Charged to no key."</p>
                    </div>
                    <FormError error=Signal::derive(move || test.value().get().and_then(Result::err))/>
                    {move || test.value().get().and_then(Result::ok).map(|report| view! { <TestReport report/> })}
                </td>
            </tr>
        })}
        {move || editing.get().then(|| view! {
            <tr class="bg-zinc-50 dark:bg-zinc-900" data-edit-route=id.to_string()>
                <td colspan="7" class="px-4 py-3">
                    <label class="label" for=format!("route-spec-{id}")>"The route as JSON: every field, every deployment (secrets are credentials, named by id)"</label>
                    <textarea class="input mt-1 h-64 font-mono text-xs" id=format!("route-spec-{id}") maxlength="262144"
                        prop:value=spec on:input=move |ev| set_spec.set(event_target_value(&ev))></textarea>
                    <div class="mt-2 flex items-center gap-3">
                        <button type="button" class="btn btn-primary" disabled=move || update.pending().get()
                            on:click=move |_| { update.dispatch(UpdateRoute { id, spec: spec.get() }); }>"Save route"</button>
                        <FormError error=Signal::derive(move || update.value().get().and_then(Result::err))/>
                    </div>
                </td>
            </tr>
        })}
    }
    .into_any()
}

/// What a test request showed: the answer or the failure, its latency, and every deployment
/// tried or skipped.
#[component]
fn TestReport(report: RouteTest) -> impl IntoView {
    let headline = format!(
        "{} {} in {:.0} ms",
        if report.ok { "Answered:" } else { "Failed:" },
        report.status,
        report.latency_ms
    );
    let tokens = report
        .prompt_tokens
        .zip(report.completion_tokens)
        .map(|(p, c)| format!("{p} prompt and {c} completion tokens"));
    view! {
        <div class="mt-3 space-y-2 text-sm" data-testid="test-report" data-ok=report.ok.to_string()>
            <p role="status" class=if report.ok { "font-medium text-emerald-700 dark:text-emerald-400" } else { "font-medium text-red-700 dark:text-red-400" }>
                {headline}
                <span class="ml-2 text-xs font-normal text-zinc-500">{format!("{} as the instance {}", report.model, report.instance)}</span>
            </p>
            {report.reply.map(|t| view! { <p>"Reply: " <q class="font-mono text-xs" data-testid="test-reply">{t}</q></p> })}
            {tokens.map(|t| view! { <p class="text-xs text-zinc-500">{t}</p> })}
            {report.error.map(|e| view! { <p class="field-error" data-testid="test-error">{e}</p> })}
            <table class="w-full text-xs">
                <thead class="text-left uppercase text-zinc-500">
                    <tr>
                        <th class="py-1 pr-3">"Route"</th><th class="py-1 pr-3">"Deployment"</th><th class="py-1 pr-3">"Outcome"</th>
                        <th class="py-1 pr-3">"Status"</th><th class="py-1 pr-3">"Latency"</th><th class="py-1">"Detail"</th>
                    </tr>
                </thead>
                <tbody>
                    {report.attempts.into_iter().map(|a| view! {
                        <tr class="border-t border-zinc-200 dark:border-zinc-800" data-attempt=a.outcome.clone()>
                            <td class="py-1 pr-3 font-mono">{a.route}</td>
                            <td class="py-1 pr-3">{format!("{} {}", a.provider.as_str(), a.upstream_model)}</td>
                            <td class="py-1 pr-3">{a.outcome.replace('_', " ")}</td>
                            <td class="py-1 pr-3">{a.status.map(|s| s.to_string()).unwrap_or_default()}</td>
                            <td class="py-1 pr-3">{a.latency_ms.map(|l| format!("{l:.0} ms")).unwrap_or_default()}</td>
                            <td class="py-1">{a.detail.unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// A route as the JSON its editor and `PUT /api/v1/routes/{id}` take.
fn spec_json(r: &Route) -> String {
    let deployments: Vec<serde_json::Value> = r
        .deployments
        .iter()
        .map(|d| {
            serde_json::json!({
                "provider": d.provider,
                "upstream_model": d.upstream_model,
                "api_base": d.api_base,
                "api_version": d.api_version,
                "credential_id": d.credential_id,
                "weight": d.weight,
                "rpm_limit": d.rpm_limit,
                "tpm_limit": d.tpm_limit,
                "enabled": d.enabled,
                "input_price_per_mtok": d.input_price_per_mtok,
                "output_price_per_mtok": d.output_price_per_mtok,
            })
        })
        .collect();
    let spec = serde_json::json!({
        "model_name": r.model_name,
        "instance": r.instance,
        "alias_of": r.alias_of,
        "strategy": r.strategy,
        "timeout_ms": r.timeout_ms,
        "stream_idle_timeout_ms": r.stream_idle_timeout_ms,
        "retries": r.retries,
        "fallbacks": r.fallbacks,
        "header_match": r.header_match,
        "deployments": deployments,
    });
    serde_json::to_string_pretty(&spec).unwrap_or_default()
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::spec_json;
    use crate::server::routes::RouteSpec;
    use tollgate_domain::routing::{Deployment, ProviderKind, Route, RouteSource, Strategy};
    use tollgate_domain::{CredentialId, DeploymentId, Micros, RouteId, Timestamp};

    /// The editor's JSON of a route is a route spec the API takes, field for field.
    #[test]
    fn the_editor_json_reads_back_as_the_route() {
        let id = RouteId::new();
        let route = Route {
            id,
            instance: Some("claude".into()),
            model_name: "anthropic/*".into(),
            alias_of: None,
            strategy: Strategy::LeastBusy,
            timeout_ms: Some(30_000),
            stream_idle_timeout_ms: Some(5_000),
            retries: 2,
            fallbacks: vec!["gpt-4o".into()],
            header_match: [("x-canary".to_owned(), "true".to_owned())].into(),
            source: RouteSource::Db,
            deployments: vec![Deployment {
                id: DeploymentId::new(),
                route_id: id,
                provider: ProviderKind::Anthropic,
                upstream_model: String::new(),
                api_base: Some("https://api.example.com".into()),
                api_version: None,
                credential_id: Some(CredentialId::new()),
                weight: 3,
                rpm_limit: Some(60),
                tpm_limit: None,
                enabled: false,
                input_price_per_mtok: Some(Micros(3_000_000)),
                output_price_per_mtok: Some(Micros(15_000_000)),
                created_at: Timestamp(0),
                updated_at: Timestamp(0),
            }],
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        };
        let spec: RouteSpec = serde_json::from_str(&spec_json(&route)).unwrap();
        let spec = spec.check().unwrap();
        assert_eq!(spec.model_name, route.model_name);
        assert_eq!(spec.instance, route.instance);
        assert_eq!(spec.strategy, route.strategy);
        assert_eq!(
            (spec.timeout_ms, spec.stream_idle_timeout_ms, spec.retries),
            (Some(30_000), Some(5_000), 2)
        );
        assert_eq!(spec.fallbacks, route.fallbacks);
        assert_eq!(spec.header_match, route.header_match);
        let (d, e) = (&spec.deployments[0], &route.deployments[0]);
        assert_eq!(
            (d.provider, &d.upstream_model, &d.api_base, d.credential_id),
            (e.provider, &e.upstream_model, &e.api_base, e.credential_id)
        );
        assert_eq!(
            (
                d.weight,
                d.rpm_limit,
                d.enabled,
                d.input_price_per_mtok,
                d.output_price_per_mtok
            ),
            (
                3,
                Some(60),
                false,
                e.input_price_per_mtok,
                e.output_price_per_mtok
            )
        );
    }
}
