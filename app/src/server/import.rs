//! Importing a LiteLLM config: converts its `model_list` and `router_settings` into Tollgate
//! routes, deployments and credential references, and says what it could not convert. The
//! command line (`tollgate import litellm CONFIG.yaml`) and the Routes page (a preview, then
//! apply) share it.

use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use tollgate_domain::routing::{
    Deployment, ProviderKind, Route, RouteSource, Strategy, validate_pattern,
};
use tollgate_domain::{CredentialId, DeploymentId, RouteId, Timestamp};
use tollgate_store::{CredentialSecret, NewCredential, Store};

#[derive(Debug, Deserialize)]
pub struct LiteLlmConfig {
    #[serde(default)]
    model_list: Vec<ModelEntry>,
    #[serde(default)]
    router_settings: Option<RouterSettings>,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
struct ModelEntry {
    model_name: String,
    litellm_params: Params,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
struct Params {
    model: String,
    #[serde(default)]
    api_base: Option<String>,
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    rpm: Option<i64>,
    #[serde(default)]
    tpm: Option<i64>,
    #[serde(default)]
    weight: Option<i64>,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
struct RouterSettings {
    #[serde(default)]
    routing_strategy: Option<String>,
    #[serde(default)]
    fallbacks: Vec<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    num_retries: Option<i64>,
    #[serde(default)]
    timeout: Option<f64>,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

/// What an import would create, and what it leaves out.
#[derive(Debug, Default)]
pub struct Plan {
    pub routes: Vec<Route>,
    /// Credentials by name (`env:VAR`), each a reference; deployments point at them by id.
    pub credentials: Vec<(CredentialId, String, String)>,
    pub not_converted: Vec<String>,
}

/// The config, or why it is not one (with the YAML error's line).
pub fn parse(text: &str) -> Result<LiteLlmConfig, String> {
    serde_yaml_ng::from_str(text)
        .map_err(|e| format!("not a LiteLLM config (YAML with model_list): {e}"))
}

/// (provider, upstream model, default api_base) for a LiteLLM `model` string.
fn provider_of(model: &str) -> Result<(ProviderKind, String, Option<&'static str>), String> {
    let (prefix, rest) = model.split_once('/').unwrap_or(("openai", model));
    let rest = if rest == "*" {
        String::new()
    } else {
        rest.to_owned()
    };
    match prefix {
        "openai" | "hosted_vllm" | "text-completion-openai" => {
            Ok((ProviderKind::Openai, rest, None))
        }
        "deepseek" => Ok((
            ProviderKind::Openai,
            rest,
            Some("https://api.deepseek.com/v1"),
        )),
        "mistral" => Ok((
            ProviderKind::Openai,
            rest,
            Some("https://api.mistral.ai/v1"),
        )),
        "anthropic" => Ok((ProviderKind::Anthropic, rest, None)),
        "azure" => Ok((ProviderKind::Azure, rest, None)),
        other => Err(format!(
            "provider `{other}` is not supported by Tollgate yet"
        )),
    }
}

fn strategy_of(s: &str) -> (Strategy, Option<String>) {
    match s {
        "simple-shuffle" => (Strategy::Weighted, None),
        "least-busy" => (Strategy::LeastBusy, None),
        "latency-based-routing" => (Strategy::LowestLatency, None),
        other => (
            Strategy::Weighted,
            Some(format!(
                "routing_strategy `{other}` has no Tollgate equivalent: weighted is used"
            )),
        ),
    }
}

/// The conversion itself: pure, so it is tested without a database.
pub fn convert(cfg: LiteLlmConfig, instance: Option<&str>, now: Timestamp) -> Plan {
    let mut plan = Plan::default();
    for key in cfg.other.keys() {
        plan.not_converted
            .push(format!("`{key}` section: not converted"));
    }
    let settings = cfg.router_settings.unwrap_or_default();
    for key in settings.other.keys() {
        plan.not_converted
            .push(format!("router_settings.{key}: not converted"));
    }
    let strategy = match settings.routing_strategy.as_deref() {
        Some(s) => {
            let (st, note) = strategy_of(s);
            plan.not_converted.extend(note);
            st
        }
        None => Strategy::Weighted,
    };
    let fallbacks: BTreeMap<String, Vec<String>> =
        settings.fallbacks.into_iter().flatten().collect();
    let mut by_name: Vec<(String, Vec<Params>)> = Vec::new();
    for entry in cfg.model_list {
        for key in entry.other.keys().filter(|k| *k != "model_info") {
            plan.not_converted
                .push(format!("{}: `{key}` not converted", entry.model_name));
        }
        match by_name.iter_mut().find(|(n, _)| *n == entry.model_name) {
            Some((_, list)) => list.push(entry.litellm_params),
            None => by_name.push((entry.model_name, vec![entry.litellm_params])),
        }
    }
    for (name, params) in by_name {
        if let Err(e) = validate_pattern(&name) {
            plan.not_converted.push(format!("{name}: skipped: {e}"));
            continue;
        }
        let route_id = RouteId::new();
        let mut deployments = Vec::new();
        for (i, p) in params.into_iter().enumerate() {
            let at = format!("{name} (deployment {})", i + 1);
            let (provider, upstream_model, default_base) = match provider_of(&p.model) {
                Ok(x) => x,
                Err(e) => {
                    plan.not_converted.push(format!("{at}: skipped: {e}"));
                    continue;
                }
            };
            for key in p.other.keys() {
                plan.not_converted
                    .push(format!("{at}: litellm_params.{key} not converted"));
            }
            let credential_id = match p.api_key.as_deref() {
                None => None,
                Some(k) => match k.strip_prefix("os.environ/") {
                    Some(var) => {
                        let name = format!("env:{var}");
                        let id = match plan.credentials.iter().find(|(_, n, _)| *n == name) {
                            Some((id, _, _)) => *id,
                            None => {
                                let id = CredentialId::new();
                                plan.credentials.push((
                                    id,
                                    name.clone(),
                                    provider.as_str().to_owned(),
                                ));
                                id
                            }
                        };
                        Some(id)
                    }
                    None => {
                        plan.not_converted.push(format!(
                            "{at}: a literal api_key is not imported (secrets stay out of config files): use os.environ/VAR, or add the credential in the portal"
                        ));
                        None
                    }
                },
            };
            if provider == ProviderKind::Azure && p.api_base.is_none() {
                plan.not_converted
                    .push(format!("{at}: skipped: an azure deployment needs api_base"));
                continue;
            }
            deployments.push(Deployment {
                id: DeploymentId::new(),
                route_id,
                provider,
                upstream_model,
                api_base: p.api_base.or(default_base.map(str::to_owned)),
                api_version: p.api_version,
                credential_id,
                weight: p.weight.unwrap_or(1).max(0),
                rpm_limit: p.rpm,
                tpm_limit: p.tpm,
                enabled: true,
                input_price_per_mtok: None,
                output_price_per_mtok: None,
                created_at: now,
                updated_at: now,
            });
        }
        if deployments.is_empty() {
            plan.not_converted.push(format!(
                "{name}: no deployment could be converted; route skipped"
            ));
            continue;
        }
        plan.routes.push(Route {
            id: route_id,
            instance: instance.map(str::to_owned),
            model_name: name.clone(),
            alias_of: None,
            strategy,
            timeout_ms: settings.timeout.map(|s| (s * 1000.0) as i64),
            stream_idle_timeout_ms: None,
            retries: settings.num_retries.unwrap_or(0).max(0),
            fallbacks: fallbacks.get(&name).cloned().unwrap_or_default(),
            header_match: BTreeMap::new(),
            source: RouteSource::Db,
            deployments,
            created_at: now,
            updated_at: now,
        });
    }
    plan
}

/// Writes the plan: credentials first (an existing one of the same name is reused), then routes
/// (one that already exists is reported and left as it is), then one revision bump.
pub async fn apply(store: &dyn Store, mut plan: Plan) -> tollgate_store::Result<Vec<String>> {
    let mut report = Vec::new();
    let existing = store.list_credentials().await?;
    let mut remap = BTreeMap::new();
    let now = Timestamp::now();
    for (id, name, provider) in &plan.credentials {
        if let Some(found) = existing.iter().find(|c| c.name == *name) {
            remap.insert(*id, found.id);
            continue;
        }
        let secret = CredentialSecret::Reference(name.clone());
        store
            .create_credential(&NewCredential {
                id: *id,
                name: name.clone(),
                provider: provider.clone(),
                secret,
                now,
            })
            .await?;
        report.push(format!("credential {name} created"));
    }
    for route in &mut plan.routes {
        for d in &mut route.deployments {
            if let Some(new) = d.credential_id.and_then(|c| remap.get(&c)) {
                d.credential_id = Some(*new);
            }
        }
        match store.create_route(route).await {
            Ok(r) => report.push(format!(
                "route {} created with {} deployment(s)",
                r.model_name,
                r.deployments.len()
            )),
            Err(tollgate_store::Error::Conflict(m)) => {
                report.push(format!("route {} not created: {m}", route.model_name))
            }
            Err(e) => return Err(e),
        }
    }
    store.bump_config_revision().await?;
    Ok(report)
}

/// The largest config the portal takes: 512 KiB (the portal's request bodies stop at 1 MiB).
pub const MAX_IMPORT_BYTES: usize = 512 * 1024;

/// The plan for a config pasted in the portal (admins), for `instance` (empty: every
/// instance); what it would create is shown before anything is written.
pub fn plan_for(
    who: &super::Principal,
    text: &str,
    instance: &str,
    now: Timestamp,
) -> Result<Plan, crate::error::AppError> {
    use crate::error::AppError;
    use tollgate_domain::{Action, Target};
    who.actor.authorize(Action::ManageRoutes, Target::Global)?;
    if text.len() > MAX_IMPORT_BYTES {
        return Err(AppError::invalid("config", "at most 512 KiB"));
    }
    let instance = Some(instance.trim()).filter(|i| !i.is_empty());
    if let Some(i) = instance {
        tollgate_domain::key_spec::instance_name(i)
            .map_err(|e| AppError::invalid("instance", e))?;
    }
    let cfg = parse(text).map_err(|e| AppError::invalid("config", e))?;
    Ok(convert(cfg, instance, now))
}

/// Applies the plan of a pasted config (admins) and audits what it did; the lines say what was
/// created and what was left as it was.
pub async fn import(
    store: &dyn Store,
    who: &super::Principal,
    text: &str,
    instance: &str,
) -> Result<Vec<String>, crate::error::AppError> {
    let plan = plan_for(who, text, instance, Timestamp::now())?;
    let not_converted = plan.not_converted.clone();
    let report = apply(store, plan).await?;
    super::audit::record_change(
        store,
        who,
        "routes.import",
        "route",
        "litellm".to_owned(),
        None,
        Some(serde_json::json!({ "report": report, "not_converted": not_converted })),
    )
    .await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
      rpm: 600
      weight: 3
  - model_name: gpt-4o
    litellm_params:
      model: azure/gpt4o-eu
      api_base: https://eu.openai.azure.com
      api_version: "2024-10-21"
      api_key: os.environ/AZURE_KEY
  - model_name: claude
    litellm_params:
      model: anthropic/claude-sonnet-4-5
      api_key: os.environ/ANTHROPIC_API_KEY
  - model_name: anthropic/*
    litellm_params:
      model: anthropic/*
      api_key: os.environ/ANTHROPIC_API_KEY
  - model_name: titan
    litellm_params:
      model: bedrock/amazon.titan
  - model_name: literal
    litellm_params:
      model: gpt-4o-mini
      api_key: sk-plaintext
      drop_params: true
router_settings:
  routing_strategy: least-busy
  num_retries: 2
  timeout: 30
  fallbacks: [{"gpt-4o": ["claude"]}]
  redis_host: localhost
general_settings:
  master_key: sk-1234
"#;

    #[test]
    fn converts_routes_deployments_credentials_and_settings() {
        let plan = convert(parse(SAMPLE).unwrap(), None, Timestamp(0));
        let names: Vec<_> = plan.routes.iter().map(|r| r.model_name.as_str()).collect();
        assert_eq!(names, ["gpt-4o", "claude", "anthropic/*", "literal"]);
        let gpt = &plan.routes[0];
        assert_eq!(gpt.deployments.len(), 2);
        assert_eq!(gpt.strategy, Strategy::LeastBusy);
        assert_eq!(gpt.retries, 2);
        assert_eq!(gpt.timeout_ms, Some(30_000));
        assert_eq!(gpt.fallbacks, ["claude"]);
        assert_eq!(gpt.deployments[0].weight, 3);
        assert_eq!(gpt.deployments[0].rpm_limit, Some(600));
        assert_eq!(gpt.deployments[1].provider, ProviderKind::Azure);
        assert_eq!(gpt.deployments[1].upstream_model, "gpt4o-eu");
        assert_eq!(
            plan.routes[2].deployments[0].upstream_model, "",
            "a wildcard forwards the suffix"
        );
        // One credential per environment variable, shared by the two Anthropic routes.
        let creds: Vec<_> = plan
            .credentials
            .iter()
            .map(|(_, n, _)| n.as_str())
            .collect();
        assert_eq!(
            creds,
            [
                "env:OPENAI_API_KEY",
                "env:AZURE_KEY",
                "env:ANTHROPIC_API_KEY"
            ]
        );
        assert_eq!(
            plan.routes[1].deployments[0].credential_id,
            plan.routes[2].deployments[0].credential_id
        );
        assert_eq!(plan.routes[3].deployments[0].credential_id, None);
    }

    #[test]
    fn says_what_it_could_not_convert() {
        let plan = convert(parse(SAMPLE).unwrap(), None, Timestamp(0));
        let all = plan.not_converted.join("\n");
        for expected in [
            "provider `bedrock` is not supported",
            "titan: no deployment could be converted",
            "literal api_key is not imported",
            "litellm_params.drop_params not converted",
            "router_settings.redis_host: not converted",
            "`general_settings` section: not converted",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
        }
        assert!(
            !all.contains("sk-plaintext") && !all.contains("sk-1234"),
            "secrets never echoed"
        );
    }

    #[test]
    fn rejects_what_is_not_a_litellm_config() {
        assert!(parse("model_list: 3").is_err());
        assert!(
            parse("model_list:\n  - model_name: x\n").is_err(),
            "litellm_params is required"
        );
        let plan = convert(
            parse("model_list:\n  - model_name: 'a*b'\n    litellm_params: {model: gpt-4o}\n")
                .unwrap(),
            None,
            Timestamp(0),
        );
        assert!(plan.routes.is_empty());
        assert!(plan.not_converted[0].contains("may only end a pattern"));
    }
}
