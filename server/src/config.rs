//! Configuration: built-in defaults, then `tollgate.toml` (or `--config PATH`), then environment
//! `TOLLGATE_*` (nested with `__`, and `*_FILE` to read a value from a file, for mounted
//! Kubernetes secrets), then command-line flags. Unknown keys are errors naming their path.

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use figment::value::Value;
use secrecy::SecretString;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tollgate_app::server::auth::CookieSecurity;

pub const DEFAULT_CONFIG_FILE: &str = "tollgate.toml";
const ENV_PREFIX: &str = "TOLLGATE_";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Where the SQLite database and the spend spool live.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; default: SQLite at `<data_dir>/tollgate.db`.
    pub database_url: Option<String>,
    /// Redis for rate-limit and budget counters shared by every replica; without it they are
    /// counted in process.
    pub redis_url: Option<String>,
    /// The folder holding `pkg/` (the wasm bundle and CSS).
    pub site_root: PathBuf,
    /// This gateway process's instance name.
    pub instance: String,
    /// Authenticates the admin API (`Authorization: Bearer`) and can sign in to the portal.
    pub master_key: Option<SecretString>,
    /// The first admin, created when there are no users.
    pub admin_email: Option<String>,
    pub admin_password: Option<SecretString>,
    /// Encrypts upstream credentials at rest (used by the gateway issue).
    pub secret_key: Option<SecretString>,
    pub database: DatabaseConfig,
    pub auth: AuthSection,
    pub gateway: GatewaySection,
    pub limits: LimitsSection,
    pub spend: SpendSection,
    pub kubernetes: KubernetesSection,
    pub log: LogConfig,
    /// Model routes declared here are served read-only, beside those in the database.
    pub routes: Vec<tollgate_gateway::ConfigRoute>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySection {
    /// Largest request body, in MiB.
    pub max_body_mib: usize,
    /// Whole-request timeout when a route sets none, in seconds.
    pub default_timeout_secs: u64,
    /// Longest silence between stream chunks when a route sets none, in seconds.
    pub stream_idle_timeout_secs: u64,
    /// Consecutive failures that put a deployment in cooldown.
    pub cooldown_failures: u32,
    /// Seconds a deployment cools down before one probe request.
    pub cooldown_secs: u64,
    /// Seconds between configuration revision polls (the change feed is the fast path).
    pub poll_interval_secs: u64,
}

impl Default for GatewaySection {
    fn default() -> Self {
        GatewaySection {
            max_body_mib: 32,
            default_timeout_secs: 600,
            stream_idle_timeout_secs: 120,
            cooldown_failures: 3,
            cooldown_secs: 30,
            poll_interval_secs: 3,
        }
    }
}

/// `[kubernetes]`: the portal's view of the gateway instances in a namespace.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KubernetesSection {
    /// `auto` (on when a ServiceAccount or kubeconfig is found), `true` (start-up fails
    /// without one) or `false`.
    pub enabled: KubernetesEnabled,
    /// Default: the ServiceAccount's namespace, or the kubeconfig context's.
    pub namespace: Option<String>,
    /// Deployments carrying `instance_label_key=instance_label_value` are gateway instances.
    pub instance_label_key: String,
    pub instance_label_value: String,
    /// A heartbeat older than this many seconds is stale.
    pub heartbeat_stale_secs: u64,
}

impl Default for KubernetesSection {
    fn default() -> Self {
        KubernetesSection {
            enabled: KubernetesEnabled::Auto,
            namespace: None,
            instance_label_key: "app.kubernetes.io/name".to_owned(),
            instance_label_value: "tollgate-gateway".to_owned(),
            heartbeat_stale_secs: 30,
        }
    }
}

/// `auto`, `true` or `false` (a TOML boolean, or the words, as environment variables give them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KubernetesEnabled {
    Auto,
    Yes,
    No,
}

impl<'de> Deserialize<'de> for KubernetesEnabled {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Word(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bool(true) => Ok(KubernetesEnabled::Yes),
            Raw::Bool(false) => Ok(KubernetesEnabled::No),
            Raw::Word(w) => match w.as_str() {
                "auto" => Ok(KubernetesEnabled::Auto),
                "true" => Ok(KubernetesEnabled::Yes),
                "false" => Ok(KubernetesEnabled::No),
                other => Err(serde::de::Error::custom(format!(
                    "expected auto, true or false, found {other:?}"
                ))),
            },
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// While a configured Redis is unreachable: `local` (limit / live replicas, in each
    /// process) or `deny` (refuse requests that have limits).
    pub on_redis_down: tollgate_gateway::limits::RedisDownPolicy,
    /// Longest wait for one Redis call, in milliseconds, before the policy above applies.
    pub redis_timeout_ms: u64,
    /// Completion tokens assumed when reserving budget for a request without `max_tokens`.
    pub default_completion_tokens: u64,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            on_redis_down: tollgate_gateway::limits::RedisDownPolicy::Local,
            redis_timeout_ms: 500,
            default_completion_tokens: 1024,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpendSection {
    /// Raw spend logs older than this many days are deleted (rollups stay); 0 keeps them all.
    pub retention_days: u32,
    /// The spool's size bound, in MiB (events beyond it are dropped, loudly).
    pub spool_max_mib: u64,
    /// Longest time a usage event waits before it is written, in milliseconds.
    pub flush_interval_ms: u64,
    /// Events per batch: a full batch is written at once.
    pub batch_size: usize,
    /// Seconds in-flight requests and streams get to finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// For keys and teams that store prompts: the most kept of each request body and of each
    /// answer, in KiB.
    pub store_prompts_max_kib: usize,
}

impl Default for SpendSection {
    fn default() -> Self {
        SpendSection {
            retention_days: 90,
            spool_max_mib: 1024,
            flush_interval_ms: 1000,
            batch_size: 2000,
            shutdown_grace_secs: 30,
            store_prompts_max_kib: 64,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub max_connections: u32,
    /// Seconds to wait for a connection before calling the database unavailable.
    pub acquire_timeout_secs: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    pub session_ttl_hours: u64,
    pub cookie_security: CookieSecurity,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `tollgate=debug,info`; `RUST_LOG` wins when set.
    pub filter: String,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 4000)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            redis_url: None,
            site_root: PathBuf::from("target/site"),
            instance: "default".to_owned(),
            master_key: None,
            admin_email: None,
            admin_password: None,
            secret_key: None,
            database: DatabaseConfig::default(),
            auth: AuthSection::default(),
            gateway: GatewaySection::default(),
            limits: LimitsSection::default(),
            spend: SpendSection::default(),
            kubernetes: KubernetesSection::default(),
            log: LogConfig::default(),
            routes: Vec::new(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            max_connections: 10,
            acquire_timeout_secs: 5,
        }
    }
}

impl Default for AuthSection {
    fn default() -> Self {
        AuthSection {
            session_ttl_hours: 12,
            cookie_security: CookieSecurity::Auto,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            filter: "info".to_owned(),
        }
    }
}

/// Values given on the command line, merged last.
#[derive(Debug, Default, serde::Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

/// Why the configuration could not be loaded: a sentence naming the key or file.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl Config {
    /// Loads from the layers in order. `file` is `--config`; without it `tollgate.toml` is read
    /// when present. `env` is the process environment, passed in so tests need not change it.
    pub fn load(
        file: Option<&Path>,
        env: &[(String, String)],
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut figment = Figment::new();
        match file {
            Some(path) if !path.exists() => {
                return Err(ConfigError(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_CONFIG_FILE));
            }
            None => {}
        }
        for (key, raw) in env.iter().filter(|(k, _)| k.starts_with(ENV_PREFIX)) {
            let name = &key[ENV_PREFIX.len()..];
            let (name, value) = match name.strip_suffix("_FILE") {
                Some(base) => {
                    let content = std::fs::read_to_string(raw)
                        .map_err(|e| ConfigError(format!("{key}: cannot read {raw}: {e}")))?;
                    (
                        base,
                        Value::from(content.trim_end_matches(['\n', '\r']).to_owned()),
                    )
                }
                // Parsed like figment's own Env provider does: `7` is a number, `true` a bool.
                None => (
                    name,
                    raw.parse::<Value>()
                        .unwrap_or_else(|_| Value::from(raw.clone())),
                ),
            };
            let dotted = name.to_lowercase().replace("__", ".");
            figment = figment.merge(Serialized::default(&dotted, value));
        }
        figment = figment.merge(Serialized::defaults(overrides));
        let config: Config = figment.extract().map_err(describe)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks that figment's types cannot express.
    fn validate(&self) -> Result<(), ConfigError> {
        let url = self.database_url();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres:")
            || url.starts_with("postgresql:"))
        {
            return Err(ConfigError(format!(
                "database_url: unsupported scheme in {:?}: use sqlite:// or postgres://",
                redact_url(&url)
            )));
        }
        if self.instance.is_empty()
            || !self
                .instance
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ConfigError(
                "instance: use letters, digits, '-' and '_' only".into(),
            ));
        }
        if self.admin_email.is_some() != self.admin_password.is_some() {
            return Err(ConfigError(
                "admin_email and admin_password: set both or neither".into(),
            ));
        }
        if self.auth.session_ttl_hours == 0 || self.auth.session_ttl_hours > 24 * 90 {
            return Err(ConfigError(
                "auth.session_ttl_hours: between 1 and 2160".into(),
            ));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError("database.max_connections: at least 1".into()));
        }
        if !(1..=1024).contains(&self.spend.store_prompts_max_kib) {
            return Err(ConfigError(
                "spend.store_prompts_max_kib: between 1 and 1024".into(),
            ));
        }
        if self.gateway.max_body_mib == 0
            || self.gateway.cooldown_failures == 0
            || self.gateway.poll_interval_secs == 0
        {
            return Err(ConfigError("gateway: max_body_mib, cooldown_failures and poll_interval_secs must be at least 1".into()));
        }
        let k = &self.kubernetes;
        if k.instance_label_key.is_empty() || k.instance_label_value.is_empty() {
            return Err(ConfigError(
                "kubernetes.instance_label_key and instance_label_value: must not be empty".into(),
            ));
        }
        if k.heartbeat_stale_secs == 0 {
            return Err(ConfigError(
                "kubernetes.heartbeat_stale_secs: at least 1".into(),
            ));
        }
        if let Some(key) = &self.secret_key {
            tollgate_gateway::secrets::SecretKey::parse(secrecy::ExposeSecret::expose_secret(key))
                .map_err(|e| ConfigError(format!("secret_key: {e}")))?;
        }
        for r in &self.routes {
            r.validate().map_err(ConfigError)?;
        }
        Ok(())
    }

    /// The gateway's settings for this process.
    pub fn gateway_config(&self, pod: String) -> tollgate_gateway::GatewayConfig {
        let g = &self.gateway;
        let mut c = tollgate_gateway::GatewayConfig::new(self.instance.clone(), pod);
        c.max_body_bytes = g.max_body_mib.saturating_mul(1024 * 1024);
        c.default_timeout = std::time::Duration::from_secs(g.default_timeout_secs);
        c.default_stream_idle_timeout = std::time::Duration::from_secs(g.stream_idle_timeout_secs);
        c.cooldown = tollgate_gateway::balance::CooldownPolicy {
            failures: g.cooldown_failures,
            open_for: std::time::Duration::from_secs(g.cooldown_secs),
        };
        c.poll_interval = std::time::Duration::from_secs(g.poll_interval_secs);
        c.limits = tollgate_gateway::limits::LimitsConfig {
            redis_url: self.redis_url.clone(),
            on_redis_down: self.limits.on_redis_down,
            redis_timeout: std::time::Duration::from_millis(self.limits.redis_timeout_ms.max(1)),
            ..tollgate_gateway::limits::LimitsConfig::default()
        };
        c.default_completion_tokens = self.limits.default_completion_tokens;
        c.store_prompts_max_bytes = self.spend.store_prompts_max_kib.saturating_mul(1024);
        c
    }

    pub fn spend_config(&self) -> tollgate_gateway::spend::SpendConfig {
        let s = &self.spend;
        tollgate_gateway::spend::SpendConfig {
            spool_max_bytes: s.spool_max_mib.saturating_mul(1024 * 1024),
            flush_interval: std::time::Duration::from_millis(s.flush_interval_ms.max(10)),
            batch_size: s.batch_size.clamp(1, 100_000),
            ..tollgate_gateway::spend::SpendConfig::new(self.data_dir.join("spool"))
        }
    }

    /// The cluster view's settings for the portal.
    pub fn cluster_settings(&self) -> tollgate_cluster::Settings {
        let k = &self.kubernetes;
        tollgate_cluster::Settings {
            enabled: match k.enabled {
                KubernetesEnabled::Auto => tollgate_cluster::Enabled::Auto,
                KubernetesEnabled::Yes => tollgate_cluster::Enabled::Yes,
                KubernetesEnabled::No => tollgate_cluster::Enabled::No,
            },
            namespace: k.namespace.clone(),
            report: tollgate_cluster::ReportSettings {
                discovery: tollgate_cluster::objects::Discovery {
                    label_key: k.instance_label_key.clone(),
                    label_value: k.instance_label_value.clone(),
                },
                heartbeat_stale_ms: i64::try_from(k.heartbeat_stale_secs.saturating_mul(1000))
                    .unwrap_or(i64::MAX),
                ..tollgate_cluster::ReportSettings::default()
            },
        }
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("tollgate.db").display()),
        }
    }
}

/// Turns figment's error into one line per problem, each naming the key's path.
fn describe(err: figment::Error) -> ConfigError {
    let lines: Vec<String> = err
        .into_iter()
        .map(|e| {
            let path = e.path.join(".");
            let source = match e.metadata.as_ref().and_then(|m| m.source.as_ref()) {
                Some(figment::Source::File(f)) => format!(" (in {})", f.display()),
                _ => String::new(),
            };
            match &e.kind {
                figment::error::Kind::UnknownField(field, _) => {
                    // figment's path already ends with the field for an unknown key.
                    let full = if path.is_empty() {
                        field.clone()
                    } else if path.ends_with(field.as_str()) {
                        path.clone()
                    } else {
                        format!("{path}.{field}")
                    };
                    format!("{full}: unknown key{source}")
                }
                kind => format!(
                    "{}: {kind}{source}",
                    if path.is_empty() { "config" } else { &path }
                ),
            }
        })
        .collect();
    ConfigError(lines.join("\n"))
}

/// `postgres://user:secret@host/db` -> `postgres://user:***@host/db`
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s + 3 => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
#[expect(
    clippy::result_large_err,
    reason = "figment::Jail's closures must return figment::Error"
)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_need_nothing() {
        figment::Jail::expect_with(|_| {
            let c = Config::load(None, &[], &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(c.listen.to_string(), "127.0.0.1:4000");
            assert_eq!(c.database_url(), "sqlite://./data/tollgate.db");
            assert_eq!(c.instance, "default");
            Ok(())
        });
    }

    #[test]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("tollgate.toml", "listen = \"127.0.0.1:5000\"\ninstance = \"file\"\n[database]\nmax_connections = 3\n")?;
            let e = env(&[
                ("TOLLGATE_INSTANCE", "env"),
                ("TOLLGATE_DATABASE__MAX_CONNECTIONS", "7"),
            ]);
            let flags = Overrides {
                listen: Some("127.0.0.1:6000".into()),
                ..Overrides::default()
            };
            let c = Config::load(None, &e, &flags).map_err(|e| e.to_string())?;
            assert_eq!(c.listen.to_string(), "127.0.0.1:6000", "flag beats file");
            assert_eq!(c.instance, "env", "env beats file");
            assert_eq!(c.database.max_connections, 7, "nested env with __");
            Ok(())
        });
    }

    #[test]
    fn file_variants_read_secrets_from_files() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("master", "sk-master-from-file\n")?;
            let path = jail.directory().join("master").display().to_string();
            let e = env(&[("TOLLGATE_MASTER_KEY_FILE", &path)]);
            let c = Config::load(None, &e, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(
                c.master_key
                    .as_ref()
                    .map(|k| k.expose_secret().to_owned())
                    .as_deref(),
                Some("sk-master-from-file")
            );
            let missing = env(&[("TOLLGATE_MASTER_KEY_FILE", "/nonexistent/key")]);
            let err = Config::load(None, &missing, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("TOLLGATE_MASTER_KEY_FILE"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn the_prompt_storage_cap_is_bounded_and_reaches_the_gateway() {
        figment::Jail::expect_with(|_| {
            let c = Config::load(None, &[], &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(
                c.gateway_config("p".into()).store_prompts_max_bytes,
                64 * 1024
            );
            let e = env(&[("TOLLGATE_SPEND__STORE_PROMPTS_MAX_KIB", "8")]);
            let c = Config::load(None, &e, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(
                c.gateway_config("p".into()).store_prompts_max_bytes,
                8 * 1024
            );
            for bad in ["0", "1025"] {
                let e = env(&[("TOLLGATE_SPEND__STORE_PROMPTS_MAX_KIB", bad)]);
                let err = Config::load(None, &e, &Overrides::default())
                    .unwrap_err()
                    .to_string();
                assert!(err.contains("spend.store_prompts_max_kib"), "{bad}: {err}");
            }
            Ok(())
        });
    }

    #[test]
    fn unknown_and_malformed_keys_are_named() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("tollgate.toml", "[database]\nmax_conections = 3\n")?;
            let err = Config::load(None, &[], &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("database.max_conections: unknown key"),
                "{err}"
            );

            jail.create_file("tollgate.toml", "listen = \"not an address\"\n")?;
            let err = Config::load(None, &[], &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("listen:"), "{err}");

            jail.create_file("tollgate.toml", "")?;
            let e = env(&[("TOLLGATE_LISTN", "x")]);
            let err = Config::load(None, &e, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("listn: unknown key"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn rejects_bad_values() {
        figment::Jail::expect_with(|_| {
            let cases = [
                ("TOLLGATE_DATABASE_URL", "mysql://x", "database_url"),
                ("TOLLGATE_INSTANCE", "a b", "instance"),
                ("TOLLGATE_ADMIN_EMAIL", "a@b.c", "admin_email"),
            ];
            for (k, v, expect) in cases {
                let e = env(&[(k, v)]);
                let err = Config::load(None, &e, &Overrides::default())
                    .unwrap_err()
                    .to_string();
                assert!(err.contains(expect), "{k}: {err}");
            }
            let missing = Config::load(
                Some(Path::new("/nonexistent.toml")),
                &[],
                &Overrides::default(),
            );
            assert!(missing.unwrap_err().to_string().contains("does not exist"));
            Ok(())
        });
    }

    #[test]
    fn routes_in_the_file_are_checked() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "tollgate.toml",
                "[[routes]]\nmodel_name = \"gpt-4o\"\n[[routes.deployments]]\nprovider = \"openai\"\nupstream_model = \"gpt-4o\"\napi_key = \"env:OPENAI_API_KEY\"\n",
            )?;
            let c = Config::load(None, &[], &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(c.routes.len(), 1);
            jail.create_file(
                "tollgate.toml",
                "[[routes]]\nmodel_name = \"gpt-4o\"\n[[routes.deployments]]\nprovider = \"openai\"\napi_key = \"sk-plain-secret\"\n",
            )?;
            let err = Config::load(None, &[], &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("api_key must be a reference"), "{err}");
            jail.create_file(
                "tollgate.toml",
                "[[routes]]\nmodel_name = \"x\"\nprovidr = 1\n",
            )?;
            let err = Config::load(None, &[], &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("providr: unknown key"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn kubernetes_section() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, &[], &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(c.kubernetes.enabled, KubernetesEnabled::Auto);
            assert_eq!(c.cluster_settings().report.heartbeat_stale_ms, 30_000);
            jail.create_file(
                "tollgate.toml",
                "[kubernetes]\nenabled = false\nnamespace = \"llm\"\ninstance_label_value = \"gw\"\n",
            )?;
            let c = Config::load(None, &[], &Overrides::default()).map_err(|e| e.to_string())?;
            let s = c.cluster_settings();
            assert_eq!(s.enabled, tollgate_cluster::Enabled::No);
            assert_eq!(s.namespace.as_deref(), Some("llm"));
            assert_eq!(s.report.discovery.label_value, "gw");
            let e = env(&[("TOLLGATE_KUBERNETES__ENABLED", "true")]);
            let c = Config::load(None, &e, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(c.kubernetes.enabled, KubernetesEnabled::Yes);
            let e = env(&[("TOLLGATE_KUBERNETES__ENABLED", "maybe")]);
            let err = Config::load(None, &e, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("kubernetes.enabled"), "{err}");
            let e = env(&[("TOLLGATE_KUBERNETES__NAMESPAC", "x")]);
            let err = Config::load(None, &e, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("kubernetes.namespac: unknown key"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn redacts_passwords_in_urls() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/tg"),
            "postgres://app:***@db:5432/tg"
        );
        assert_eq!(redact_url("sqlite://./data/x.db"), "sqlite://./data/x.db");
    }
}
