//! `tollgate keys create|list|block|rotate|store-prompts` and `tollgate teams
//! create|list|store-prompts`: keys and teams from the command line, through the same rules as
//! the portal and the admin API (`tollgate_app::server`), acting as an admin named
//! `command line`. Every change bumps the configuration revision, which every gateway process
//! hears through the change feed, and is written to the audit log.

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use std::sync::Arc;
use tollgate_app::error::AppError;
use tollgate_app::server::Principal;
use tollgate_app::server::audit::{Change, record_as};
use tollgate_domain::key_spec::KeySort;
use tollgate_domain::key_spec::KeySpec;
use tollgate_domain::model::VirtualKey;
use tollgate_domain::{Actor, KeyId, Micros, TeamId, Timestamp};
use tollgate_store::{Page, Store};

/// What `keys create` takes (its command-line flags).
#[derive(Debug, Default, clap::Args)]
pub struct CreateArgs {
    /// A name people recognise it by.
    #[arg(long)]
    pub alias: Option<String>,
    /// Models (names or patterns such as `anthropic/*`) it may call; default: any.
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<String>,
    /// The team (id or name) it belongs to.
    #[arg(long)]
    pub team: Option<String>,
    /// Gateway instances it may use; default: all.
    #[arg(long, value_delimiter = ',')]
    pub instances: Vec<String>,
    /// Spend limit per budget period, in dollars (`25`, `12.50`).
    #[arg(long)]
    pub max_budget: Option<String>,
    /// Budget period: `30s`, `15m`, `12h`, `1d`, `7d`, `30d`, `1mo`; default: never resets.
    #[arg(long)]
    pub budget_duration: Option<String>,
    /// Spend at which an alert is raised (metric and audit entry), in dollars.
    #[arg(long)]
    pub soft_budget: Option<String>,
    /// Requests per minute.
    #[arg(long)]
    pub rpm: Option<i64>,
    /// Tokens per minute.
    #[arg(long)]
    pub tpm: Option<i64>,
    /// Requests in flight at once.
    #[arg(long)]
    pub max_parallel: Option<i64>,
    /// Keep its requests' prompts and completions in the request log (off by default; each
    /// side cut at `spend.store_prompts_max_kib`).
    #[arg(long)]
    pub store_prompts: bool,
}

/// `on` or `off`, as `store-prompts` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    On,
    Off,
}

/// Who the audit log says made a change from here.
const CLI_ACTOR: &str = "command line";

/// Writes one change made from the command line to the audit log (a key row holds no secret).
async fn audit(
    store: &dyn Store,
    action: &str,
    object_type: &str,
    object_id: String,
    before: Option<Value>,
    after: Option<Value>,
) -> anyhow::Result<()> {
    let change = Change {
        action,
        object_type,
        object_id: Some(object_id),
        before,
        after,
    };
    record_as(store, None, CLI_ACTOR, change)
        .await
        .map_err(|e| anyhow::anyhow!("the change was made but not written to the audit log: {e}"))
}

/// Dollars as typed (`12.50`); whether the amount is allowed is the key rules' to say.
fn dollars(flag: &str, v: Option<&str>) -> anyhow::Result<Option<Micros>> {
    v.map(|v| Micros::from_dollars_str(v).map_err(|e| anyhow::anyhow!("{flag} {v:?}: {e}")))
        .transpose()
}

/// The flag of `keys create` that sets a [`KeySpec`] field.
fn flag_of(field: &str) -> String {
    match field {
        "team_id" => "--team".to_owned(),
        "rpm_limit" => "--rpm".to_owned(),
        "tpm_limit" => "--tpm".to_owned(),
        other => format!("--{}", other.replace('_', "-")),
    }
}

/// Creates a key and returns it with its secret (to be printed once): the same rules as the
/// admin API (`tollgate_app::server::keys::create_key`), as an admin named `command line`.
pub async fn create(
    store: &Arc<dyn Store>,
    args: CreateArgs,
) -> anyhow::Result<(VirtualKey, String)> {
    let team_id = match &args.team {
        None => None,
        Some(t) => Some(find_team(store.as_ref(), t).await?),
    };
    let spec = KeySpec {
        alias: args.alias,
        team_id,
        models: (!args.models.is_empty()).then_some(args.models),
        instances: (!args.instances.is_empty()).then_some(args.instances),
        max_budget: dollars("--max-budget", args.max_budget.as_deref())?,
        budget_duration: args.budget_duration,
        soft_budget: dollars("--soft-budget", args.soft_budget.as_deref())?,
        rpm_limit: args.rpm,
        tpm_limit: args.tpm,
        max_parallel: args.max_parallel,
        store_prompts: args.store_prompts,
        ..KeySpec::default()
    };
    let made =
        tollgate_app::server::keys::create_key(store.as_ref(), &cli(), spec, Timestamp::now())
            .await
            .map_err(|e| refused("cannot create the key", e))?;
    Ok((made.key, made.secret))
}

/// The command line acts as an admin named `command line`.
fn cli() -> Principal {
    Principal {
        actor: Actor::master(),
        user: None,
        label: CLI_ACTOR.to_owned(),
        session_token_hash: None,
    }
}

/// A refusal of the shared rules, naming the flag of the field it is about.
fn refused(what: &str, e: AppError) -> anyhow::Error {
    match e {
        AppError::Invalid(f) => anyhow::anyhow!("{}: {}", flag_of(&f.field), f.message),
        other => anyhow::anyhow!("{what}: {other}"),
    }
}

/// `keys list`'s filters.
#[derive(Debug, Default, clap::Args)]
pub struct ListArgs {
    /// Only this team's keys (id or exact name).
    #[arg(long)]
    pub team: Option<String>,
    /// Only keys whose name contains this, or whose display prefix or suffix it is.
    #[arg(long)]
    pub search: Option<String>,
    /// Only blocked keys.
    #[arg(long)]
    pub blocked: bool,
    /// Only the keys of the user with this email.
    #[arg(long)]
    pub owner: Option<String>,
    /// The order: newest, oldest, spend, last_used, alias, expires.
    #[arg(long, default_value = "newest", value_parser = parse_sort)]
    pub sort: KeySort,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

fn parse_sort(s: &str) -> Result<KeySort, String> {
    KeySort::parse(s).ok_or_else(|| {
        let all: Vec<&str> = KeySort::ALL.iter().map(|k| k.as_str()).collect();
        format!("one of {}", all.join(", "))
    })
}

/// Keys in the order asked for, as the admin API lists them.
pub async fn list(store: &Arc<dyn Store>, args: ListArgs) -> anyhow::Result<Vec<VirtualKey>> {
    let team = match &args.team {
        None => None,
        Some(t) => Some(find_team(store.as_ref(), t).await?),
    };
    let page = tollgate_app::server::keys::list_keys(
        store.as_ref(),
        &cli(),
        tollgate_domain::key_spec::KeyFilter {
            team,
            search: args.search,
            blocked: args.blocked.then_some(true),
            owner_email: args.owner,
            sort: args.sort,
            limit: Some(args.limit),
            ..Default::default()
        },
    )
    .await
    .map_err(|e| refused("cannot list keys", e))?;
    Ok(page.keys)
}

/// Gives a key a new secret; the old one keeps working for `grace` (`30s`, `12h`, `7d`; none:
/// it stops at once).
pub async fn rotate(
    store: &Arc<dyn Store>,
    key_id: &str,
    grace: Option<&str>,
) -> anyhow::Result<(VirtualKey, String)> {
    let id = parse_key_id(key_id)?;
    let grace_secs = match grace {
        None => 0,
        Some(g) => match tollgate_domain::budget::BudgetPeriod::parse(g) {
            Ok(tollgate_domain::budget::BudgetPeriod::Millis(ms)) => {
                u64::try_from(ms / 1000).unwrap_or(0)
            }
            Ok(tollgate_domain::budget::BudgetPeriod::Months(_)) | Err(_) => {
                bail!("--grace {g:?}: a length such as 30s, 15m, 12h or 7d")
            }
        },
    };
    let made = tollgate_app::server::keys::rotate_key(
        store.as_ref(),
        &cli(),
        id,
        grace_secs,
        Timestamp::now(),
    )
    .await
    .map_err(|e| match e {
        AppError::NotFound => anyhow::anyhow!("no key {id}"),
        AppError::Invalid(f) if f.field == "grace_seconds" => {
            anyhow::anyhow!("--grace: {}", f.message)
        }
        other => refused("cannot rotate the key", other),
    })?;
    Ok((made.key, made.secret))
}

/// `teams create`'s flags.
#[derive(Debug, Default, clap::Args)]
pub struct TeamArgs {
    /// Its name, unique among teams.
    pub name: String,
    /// Spend limit per budget period, in dollars.
    #[arg(long)]
    pub max_budget: Option<String>,
    /// Budget period: `1d`, `7d`, `30d`, `1mo`; default: never resets.
    #[arg(long)]
    pub budget_duration: Option<String>,
    /// Requests per minute for the whole team.
    #[arg(long)]
    pub rpm: Option<i64>,
    /// Tokens per minute for the whole team.
    #[arg(long)]
    pub tpm: Option<i64>,
}

/// Creates a team with the same rules as the portal and the admin API.
pub async fn create_team(
    store: &Arc<dyn Store>,
    args: TeamArgs,
) -> anyhow::Result<tollgate_domain::model::Team> {
    let spec = tollgate_app::server::teams::TeamSpec {
        name: args.name,
        max_budget: dollars("--max-budget", args.max_budget.as_deref())?,
        budget_duration: args.budget_duration,
        rpm_limit: args.rpm,
        tpm_limit: args.tpm,
    };
    tollgate_app::server::teams::create_team(store.as_ref(), &cli(), spec, Timestamp::now())
        .await
        .map_err(|e| match e {
            AppError::Invalid(f) if f.field == "name" => anyhow::anyhow!("name: {}", f.message),
            other => refused("cannot create the team", other),
        })
}

/// Every team, by name.
pub async fn list_teams(
    store: &Arc<dyn Store>,
) -> anyhow::Result<Vec<tollgate_domain::model::Team>> {
    tollgate_app::server::teams::list_teams(store.as_ref(), &cli())
        .await
        .map_err(|e| refused("cannot list teams", e))
}

/// Turns the storing of a key's prompts and completions on or off.
pub async fn store_prompts(
    store: &Arc<dyn Store>,
    key_id: &str,
    switch: Switch,
) -> anyhow::Result<VirtualKey> {
    switch_key(store, key_id, KeyFlag::StorePrompts, switch == Switch::On).await
}

/// A key's on/off settings the command line changes.
#[derive(Clone, Copy)]
enum KeyFlag {
    Blocked,
    StorePrompts,
}

impl KeyFlag {
    /// Its column, as the audit log names it.
    fn name(self) -> &'static str {
        match self {
            KeyFlag::Blocked => "blocked",
            KeyFlag::StorePrompts => "store_prompts",
        }
    }

    fn of(self, key: &VirtualKey) -> bool {
        match self {
            KeyFlag::Blocked => key.blocked,
            KeyFlag::StorePrompts => key.store_prompts,
        }
    }
}

/// Sets one of a key's flags, bumps the configuration revision and audits the change with the
/// value before and after.
async fn switch_key(
    store: &Arc<dyn Store>,
    key_id: &str,
    flag: KeyFlag,
    on: bool,
) -> anyhow::Result<VirtualKey> {
    let id = parse_key_id(key_id)?;
    let no_key = || format!("no key {id}");
    let before = store.get_key(id).await.with_context(no_key)?;
    let now = Timestamp::now();
    let key = match flag {
        KeyFlag::Blocked => store.set_key_blocked(id, on, now).await,
        KeyFlag::StorePrompts => store.set_key_store_prompts(id, on, now).await,
    }
    .with_context(no_key)?;
    store.bump_config_revision().await?;
    let value = |k: &VirtualKey| json!({ flag.name(): flag.of(k) });
    audit(
        store.as_ref(),
        &format!("key.{}", flag.name()),
        "key",
        id.to_string(),
        Some(value(&before)),
        Some(value(&key)),
    )
    .await?;
    Ok(key)
}

/// The same for every key of a team (by id or name); returns the team's id.
pub async fn team_store_prompts(
    store: &Arc<dyn Store>,
    team: &str,
    switch: Switch,
) -> anyhow::Result<TeamId> {
    let id = find_team(store.as_ref(), team).await?;
    let on = switch == Switch::On;
    store
        .set_team_store_prompts(id, on, Timestamp::now())
        .await?;
    store.bump_config_revision().await?;
    audit(
        store.as_ref(),
        "team.store_prompts",
        "team",
        id.to_string(),
        None,
        Some(json!({ "store_prompts": on })),
    )
    .await?;
    Ok(id)
}

fn parse_key_id(key_id: &str) -> anyhow::Result<KeyId> {
    key_id
        .parse()
        .with_context(|| format!("{key_id:?} is not a key id (a UUID)"))
}

/// A team by id or by exact name.
async fn find_team(store: &dyn Store, team: &str) -> anyhow::Result<TeamId> {
    if let Ok(id) = team.parse::<TeamId>() {
        return Ok(store
            .get_team(id)
            .await
            .with_context(|| format!("no team with id {id}"))?
            .id);
    }
    let mut page = Page::first(500);
    loop {
        let teams = store.list_teams(&page).await?;
        if let Some(t) = teams.iter().find(|t| t.name == team) {
            return Ok(t.id);
        }
        if teams.len() < page.limit as usize {
            bail!("no team named {team:?}");
        }
        page.offset += u64::from(page.limit);
    }
}

/// Blocks a key by id; the gateways refuse it within a second.
pub async fn block(store: &Arc<dyn Store>, key_id: &str) -> anyhow::Result<VirtualKey> {
    switch_key(store, key_id, KeyFlag::Blocked, true).await
}
