//! Virtual keys: who may create, read, block and delete which, and the store calls behind the
//! admin API, LiteLLM's `/key/*` endpoints and the command line, so that all of them keep the
//! same rules. Every change bumps the configuration revision (the gateways hear of it through
//! the change feed) and is written to the audit log, never with the secret.

use super::audit::{Change, record};
use super::principal::Principal;
use crate::error::AppError;
use crate::server_fns::keys::KeyForm;
use tollgate_domain::authz::{GlobalRole, TeamRole};
use tollgate_domain::key_spec::{CreatedKey, KeyFilter, KeyPage, KeySpec, MAX_KEYS_PAGE};
use tollgate_domain::keys::{display_parts, generate_key, hash_secret};
use tollgate_domain::model::VirtualKey;
use tollgate_domain::validate::FieldError;
use tollgate_domain::{Action, KeyId, Target, Timestamp, UserId};
use tollgate_store::{KeyQuery, KeySecret, KeySettings, NewKey, Store};

/// Reads the form into a [`KeySpec`], naming the field of any value that does not parse (the
/// rules on the values are [`KeySpec::validate`]'s).
pub fn spec_from_form(f: KeyForm) -> Result<KeySpec, AppError> {
    use super::forms::{date, dollars, id, list, set, whole};
    let metadata = set(&f.metadata)
        .map(|m| match serde_json::from_str(m) {
            Ok(serde_json::Value::Object(o)) => Ok(o),
            _ => Err(AppError::invalid(
                "metadata",
                "a JSON object, such as {\"owner\": \"search\"}",
            )),
        })
        .transpose()?;
    Ok(KeySpec {
        alias: set(&f.alias).map(str::to_owned),
        team_id: id("team_id", &f.team, "no such team")?,
        models: list(&f.models),
        instances: list(&f.instances),
        max_budget: dollars("max_budget", &f.max_budget)?,
        budget_duration: set(&f.budget_duration).map(str::to_owned),
        rpm_limit: whole("rpm_limit", &f.rpm_limit)?,
        tpm_limit: whole("tpm_limit", &f.tpm_limit)?,
        expires_at: date("expires_at", &f.expires)?,
        metadata,
        ..KeySpec::default()
    })
}

/// The fields of the edit form, as changes to `before` for [`update_key`]: the form holds these
/// fields and no others (the rest keep their value). An expiry left on the key's own day keeps
/// its exact time, so opening and saving a key never moves its expiry.
pub fn changes_from_form(
    f: KeyForm,
    before: &VirtualKey,
) -> Result<serde_json::Map<String, serde_json::Value>, AppError> {
    const EDITED: [&str; 9] = [
        "alias",
        "models",
        "instances",
        "max_budget",
        "budget_duration",
        "rpm_limit",
        "tpm_limit",
        "expires_at",
        "metadata",
    ];
    let mut spec = spec_from_form(f)?;
    if let (Some(asked), Some(had)) = (spec.expires_at, before.expires_at)
        && asked.display_date() == had.display_date()
    {
        spec.expires_at = Some(had);
    }
    let Ok(serde_json::Value::Object(mut all)) = serde_json::to_value(spec) else {
        return Err(AppError::Internal);
    };
    all.retain(|k, _| EDITED.contains(&k.as_str()));
    Ok(all)
}

fn key_target(key: &VirtualKey) -> Target {
    Target::Key {
        team: key.team_id,
        owner: key.user_id,
    }
}

/// The key, when the actor may read it; `NotFound` otherwise, the same answer as an id that
/// does not exist, so ids cannot be probed.
pub async fn get_key(
    store: &dyn Store,
    who: &Principal,
    id: KeyId,
) -> Result<VirtualKey, AppError> {
    let key = store.get_key(id).await?;
    if who.actor.allows(Action::ReadKeys, key_target(&key)) {
        Ok(key)
    } else {
        Err(AppError::NotFound)
    }
}

/// The key, when the actor may change it: `NotFound` when they may not even read it,
/// `Forbidden` when they may read but not change it (a viewer).
pub async fn may_manage(
    store: &dyn Store,
    who: &Principal,
    id: KeyId,
) -> Result<VirtualKey, AppError> {
    let key = get_key(store, who, id).await?;
    who.actor.authorize(Action::ManageKeys, key_target(&key))?;
    Ok(key)
}

/// Creates a key. Rules besides each field's own ([`KeySpec::validate`]):
/// - someone who is not an admin makes keys in a team (a key outside any team is an admin's),
///   and a member's key is their own: the owner defaults to them;
/// - the owner of a team's key is a member of that team;
/// - a team admin's or member's key stays within the team's own budget and limits.
pub async fn create_key(
    store: &dyn Store,
    who: &Principal,
    spec: KeySpec,
    now: Timestamp,
) -> Result<CreatedKey, AppError> {
    let mut spec = spec.validate(now)?;
    let admin = who.actor.role == GlobalRole::Admin;
    if !admin && spec.user_id.is_none() {
        spec.user_id = who.actor.user_id;
    }
    who.actor.authorize(
        Action::ManageKeys,
        Target::Key {
            team: spec.team_id,
            owner: spec.user_id,
        },
    )?;
    let mut owner_cap = None;
    if let Some(team_id) = spec.team_id {
        let team = match store.get_team(team_id).await {
            Err(tollgate_store::Error::NotFound) => {
                return Err(AppError::invalid("team_id", "no such team"));
            }
            other => other?,
        };
        // The policy first: what it fills in is then held to the team's own limits too.
        owner_cap = hold_to_policy(store, who, &team, &mut spec, true, now).await?;
        if !admin {
            spec.within_team(&team)?;
        }
        // The owner's teams, not the team's members: a handful of rows, not hundreds. A user
        // who does not exist belongs to no team.
        if let Some(owner) = spec.user_id
            && !store
                .memberships_of(owner)
                .await?
                .iter()
                .any(|m| m.team_id == team_id)
        {
            return Err(AppError::invalid(
                "user_id",
                "the owner is not a member of the team",
            ));
        }
    } else if let Some(owner) = spec.user_id
        && let Err(tollgate_store::Error::NotFound) = store.get_user(owner).await
    {
        return Err(AppError::invalid("user_id", "no such user"));
    }
    let secret = generate_key();
    let (key_prefix, key_suffix) = display_parts(&secret);
    let (team_id, user_id) = (spec.team_id, spec.user_id);
    let key = store
        .create_key(
            &NewKey {
                team_id,
                user_id,
                owner_cap,
                ..NewKey::new(
                    KeyId::new(),
                    hash_secret(&secret),
                    key_prefix,
                    key_suffix,
                    now,
                )
            }
            .with_settings(settings_of(spec)),
        )
        .await?;
    store.bump_config_revision().await?;
    audit(store, who, "key.create", &key, None, Some(&key)).await?;
    Ok(CreatedKey { key, secret })
}

/// A member's key (not an admin's, nor a team admin's) is held to the team's self-service
/// policy, which fills what the key leaves open and refuses what crosses it, naming the limit.
/// Returns the most keys the owner may hold, for the store to hold a new key to as it inserts
/// it (the count read here is the message's; two creations at once are decided there).
async fn hold_to_policy(
    store: &dyn Store,
    who: &Principal,
    team: &tollgate_domain::model::Team,
    spec: &mut KeySpec,
    creating: bool,
    now: Timestamp,
) -> Result<Option<u32>, AppError> {
    let member = who.actor.role != GlobalRole::Admin
        && who.actor.team_role(team.id) == Some(TeamRole::Member);
    if !member || team.policy.is_open() {
        return Ok(None);
    }
    let held = match (team.policy.max_keys, spec.user_id) {
        (Some(_), Some(owner)) if creating => store.count_member_keys(team.id, owner).await?,
        _ => 0,
    };
    team.policy
        .hold(spec, u64::try_from(held).unwrap_or(0), creating, now)?;
    Ok(team.policy.max_keys.filter(|_| creating))
}

/// The longest grace period a rotated key's previous secret may keep working: 30 days.
pub const MAX_ROTATION_GRACE_SECS: u64 = 30 * 24 * 3600;

/// Gives a key a new secret (returned once). The previous secret keeps working for
/// `grace_secs` (0: it stops at once), then stops; an earlier secret still in its grace period
/// is replaced by this one. The key keeps its id, settings and spend.
pub async fn rotate_key(
    store: &dyn Store,
    who: &Principal,
    id: KeyId,
    grace_secs: u64,
    now: Timestamp,
) -> Result<CreatedKey, AppError> {
    if grace_secs > MAX_ROTATION_GRACE_SECS {
        return Err(AppError::invalid(
            "grace_seconds",
            format!("at most {MAX_ROTATION_GRACE_SECS} (30 days)"),
        ));
    }
    let before = may_manage(store, who, id).await?;
    let secret = generate_key();
    let (prefix, suffix) = display_parts(&secret);
    let until = (grace_secs > 0).then(|| now.plus_millis(grace_secs as i64 * 1000));
    let key = store
        .rotate_key(
            id,
            &KeySecret {
                hash: hash_secret(&secret),
                prefix,
                suffix,
            },
            until,
            now,
        )
        .await?;
    store.bump_config_revision().await?;
    audit(store, who, "key.rotate", &key, Some(&before), Some(&key)).await?;
    Ok(CreatedKey { key, secret })
}

/// The id of a key named by its id or by its secret (LiteLLM's scripts name keys by their
/// secret). Neither shape, or no such key: `NotFound`.
pub async fn resolve(store: &dyn Store, reference: &str) -> Result<KeyId, AppError> {
    let reference = reference.trim();
    if let Ok(id) = reference.parse::<KeyId>() {
        return Ok(id);
    }
    if tollgate_domain::keys::is_key_shaped(reference) {
        return Ok(store.get_key_by_hash(&hash_secret(reference)).await?.id);
    }
    Err(AppError::NotFound)
}

/// Keys newest first. Admins and viewers read any; a team admin reads their team's (name the
/// team); anyone else reads their own (with no team or user named, or naming themselves).
pub async fn list_keys(
    store: &dyn Store,
    who: &Principal,
    filter: KeyFilter,
) -> Result<KeyPage, AppError> {
    let now = Timestamp::now();
    let limit = filter.limit.unwrap_or(50);
    if filter.expires_within_days.is_some_and(|d| d > 3650) {
        return Err(AppError::invalid("expires_within_days", "0 to 3650"));
    }
    if !(1..=MAX_KEYS_PAGE).contains(&limit) {
        return Err(AppError::invalid("limit", format!("1 to {MAX_KEYS_PAGE}")));
    }
    if filter
        .search
        .as_ref()
        .is_some_and(|s| s.chars().count() > 200)
    {
        return Err(AppError::invalid("search", "at most 200 characters"));
    }
    // An owner named by email. No such user is an id nobody has: the rules below then answer
    // as for anyone else's keys (whether an address has an account is not told to someone who
    // may not read its keys), and the list is empty. So is one that is not `user`.
    let mut user = filter.user;
    if let Some(email) = filter
        .owner_email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
    {
        let email = tollgate_domain::validate::email(email)
            .map_err(|e| FieldError::new("owner_email", e.message))?;
        let owner = match store.get_user_auth(&email).await {
            Ok(found) => found.user.id,
            Err(tollgate_store::Error::NotFound) => UserId::new(),
            Err(e) => return Err(e.into()),
        };
        user = match user {
            Some(u) if u != owner => Some(UserId::new()),
            _ => Some(owner),
        };
    }
    let mut query = KeyQuery {
        limit: limit + 1,
        after: filter.after,
        team: filter.team,
        user,
        blocked: filter.blocked,
        expires_before: filter
            .expires_within_days
            .map(|d| now.plus_millis(i64::from(d) * tollgate_domain::time::MS_PER_DAY)),
        search: filter.search,
        sort: filter.sort,
    };
    let everything = who.actor.allows(Action::ReadKeys, Target::Global);
    if !everything {
        match (query.team, query.user) {
            (Some(team), _) if who.actor.allows(Action::ReadKeys, Target::Team(team)) => {}
            (_, None) => query.user = who.actor.user_id,
            (_, Some(u)) if Some(u) == who.actor.user_id => {}
            (None, Some(_))
                if who
                    .actor
                    .teams
                    .iter()
                    .any(|(_, r)| *r == TeamRole::TeamAdmin) =>
            {
                return Err(AppError::invalid(
                    "team",
                    "choose one of your teams to list another member's keys",
                ));
            }
            _ => return Err(AppError::Forbidden),
        }
        if query.user.is_none() && query.team.is_none() {
            return Err(AppError::Forbidden);
        }
    }
    let mut keys = store.find_keys(&query).await?;
    let next = if keys.len() > limit as usize {
        keys.truncate(limit as usize);
        keys.last().map(|k| k.id)
    } else {
        None
    };
    // A member listing "their" keys of a team reads only the ones they may read.
    keys.retain(|k| who.actor.allows(Action::ReadKeys, key_target(k)));
    Ok(KeyPage { keys, next, now })
}

/// What a checked [`KeySpec`] stores (its team and owner are set at creation only).
fn settings_of(spec: KeySpec) -> KeySettings {
    KeySettings {
        alias: spec.alias,
        allowed_models: spec.models,
        allowed_instances: spec.instances,
        max_budget: spec.max_budget,
        budget_duration: spec.budget_duration,
        soft_budget: spec.soft_budget,
        rpm_limit: spec.rpm_limit,
        tpm_limit: spec.tpm_limit,
        max_parallel: spec.max_parallel,
        expires_at: spec.expires_at,
        metadata: spec
            .metadata
            .map(|m| serde_json::Value::Object(m).to_string()),
        store_prompts: spec.store_prompts,
    }
}

/// A key's settings as a [`KeySpec`], the starting point of an edit.
fn spec_of(key: &VirtualKey) -> KeySpec {
    KeySpec {
        alias: key.alias.clone(),
        team_id: key.team_id,
        user_id: key.user_id,
        models: key.allowed_models.clone(),
        instances: key.allowed_instances.clone(),
        max_budget: key.max_budget,
        budget_duration: key.budget_duration.clone(),
        soft_budget: key.soft_budget,
        rpm_limit: key.rpm_limit,
        tpm_limit: key.tpm_limit,
        max_parallel: key.max_parallel,
        expires_at: key.expires_at,
        metadata: key
            .metadata
            .as_deref()
            .and_then(|m| serde_json::from_str(m).ok()),
        store_prompts: key.store_prompts,
    }
}

/// Changes a key's settings: `changes` holds [`KeySpec`] fields to set (`null` clears one);
/// the others keep their value. The same rules as [`create_key`] apply, and a key keeps its team
/// and owner. With `version` (the one the editor read), a save made by someone else since is
/// refused with `Conflict` ("changed since you opened it") instead of being overwritten;
/// without it, the version just read is used (LiteLLM's `/key/update` has none).
pub async fn update_key(
    store: &dyn Store,
    who: &Principal,
    id: KeyId,
    changes: serde_json::Map<String, serde_json::Value>,
    version: Option<i64>,
    now: Timestamp,
) -> Result<VirtualKey, AppError> {
    update_key_with(store, who, id, |_| Ok(changes), version, now).await
}

/// [`update_key`] with the changes made from the key as read (the portal's edit form keeps an
/// expiry left on its own day at its exact time), so the key is read once.
pub async fn update_key_with(
    store: &dyn Store,
    who: &Principal,
    id: KeyId,
    changes: impl FnOnce(&VirtualKey) -> Result<serde_json::Map<String, serde_json::Value>, AppError>,
    version: Option<i64>,
    now: Timestamp,
) -> Result<VirtualKey, AppError> {
    let before = may_manage(store, who, id).await?;
    let changes = changes(&before)?;
    let mut merged = match serde_json::to_value(spec_of(&before)) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => return Err(AppError::Internal),
    };
    merged.extend(changes);
    let mut spec: KeySpec = serde_json::from_value(serde_json::Value::Object(merged))
        .map_err(|e| AppError::invalid("settings", e.to_string()))?;
    if spec.team_id != before.team_id {
        return Err(AppError::invalid(
            "team_id",
            "a key keeps its team: make a new key",
        ));
    }
    if spec.user_id != before.user_id {
        return Err(AppError::invalid(
            "user_id",
            "a key keeps its owner: make a new key",
        ));
    }
    // An expiry already passed may stay as it is; a new one must be in the future.
    let kept_expiry = (spec.expires_at == before.expires_at)
        .then(|| spec.expires_at.take())
        .flatten();
    let mut spec = spec.validate(now)?;
    spec.expires_at = spec.expires_at.or(kept_expiry);
    if who.actor.role != GlobalRole::Admin
        && let Some(team_id) = spec.team_id
    {
        let team = store.get_team(team_id).await?;
        hold_to_policy(store, who, &team, &mut spec, false, now).await?;
        spec.within_team(&team)?;
    }
    let key = store
        .update_key(
            id,
            &settings_of(spec),
            version.unwrap_or(before.version),
            now,
        )
        .await?;
    store.bump_config_revision().await?;
    audit(store, who, "key.update", &key, Some(&before), Some(&key)).await?;
    Ok(key)
}

/// Blocks or unblocks a key: the gateways refuse it within their change-feed delay.
pub async fn set_blocked(
    store: &dyn Store,
    who: &Principal,
    id: KeyId,
    blocked: bool,
) -> Result<VirtualKey, AppError> {
    let before = may_manage(store, who, id).await?;
    let key = store.set_key_blocked(id, blocked, Timestamp::now()).await?;
    store.bump_config_revision().await?;
    let action = if blocked { "key.block" } else { "key.unblock" };
    audit(store, who, action, &key, Some(&before), Some(&key)).await?;
    Ok(key)
}

/// Deletes a key; its spend history stays.
pub async fn delete_key(store: &dyn Store, who: &Principal, id: KeyId) -> Result<(), AppError> {
    let before = may_manage(store, who, id).await?;
    store.delete_key(id).await?;
    store.bump_config_revision().await?;
    audit(store, who, "key.delete", &before, Some(&before), None).await
}

async fn audit(
    store: &dyn Store,
    who: &Principal,
    action: &str,
    key: &VirtualKey,
    before: Option<&VirtualKey>,
    after: Option<&VirtualKey>,
) -> Result<(), AppError> {
    // A key row holds no secret: only its hash's display parts.
    let json = |k: &VirtualKey| serde_json::to_value(k).unwrap_or_default();
    record(
        store,
        who,
        Change {
            action,
            object_type: "key",
            object_id: Some(key.id.to_string()),
            before: before.map(json),
            after: after.map(json),
        },
    )
    .await
}
