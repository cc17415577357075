//! What a person asks of a virtual key (the portal's form, the admin API, LiteLLM's
//! `/key/generate`, the command line), and the rules it must keep: each field on its own, and
//! a team's own limits, which keys of a team cannot exceed unless an admin sets them.

use crate::budget::BudgetPeriod;
use crate::ids::{TeamId, UserId};
use crate::model::Team;
use crate::money::Micros;
use crate::routing::validate_pattern;
use crate::time::Timestamp;
use crate::validate::{FieldError, name};
use serde::{Deserialize, Serialize};

/// The most requests or tokens per minute, or requests in flight, a key may be given.
pub const MAX_RATE_LIMIT: i64 = 1_000_000_000;
/// The largest budget a key may be given: a billion dollars.
pub const MAX_KEY_BUDGET: Micros = Micros(1_000_000_000 * 1_000_000);
/// Models or instances a key may list.
pub const MAX_LIST_LEN: usize = 200;
/// Instance names: Kubernetes-style names.
pub const MAX_INSTANCE_LEN: usize = 63;
/// The metadata object's size as JSON text.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// A key's settings as asked for. Every field is optional: `None` is "no limit of its own"
/// (for models and instances: everything the team allows).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    #[serde(default)]
    pub alias: Option<String>,
    #[serde(default)]
    pub team_id: Option<TeamId>,
    /// Its owner; a member's own keys are theirs.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// Model names or patterns (`gpt-4o`, `anthropic/*`, `*`).
    #[serde(default)]
    pub models: Option<Vec<String>>,
    #[serde(default)]
    pub instances: Option<Vec<String>>,
    #[serde(default)]
    pub max_budget: Option<Micros>,
    /// `30s`, `15m`, `12h`, `1d`, `7d`, `30d`, `1mo`; `None`: the budget never resets.
    #[serde(default)]
    pub budget_duration: Option<String>,
    #[serde(default)]
    pub soft_budget: Option<Micros>,
    #[serde(default)]
    pub rpm_limit: Option<i64>,
    #[serde(default)]
    pub tpm_limit: Option<i64>,
    #[serde(default)]
    pub max_parallel: Option<i64>,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// A JSON object kept with the key, verbatim.
    #[serde(default)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    pub store_prompts: bool,
}

/// A page of keys at most.
pub const MAX_KEYS_PAGE: u32 = 200;

/// A key just made, with its secret: shown once, never stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CreatedKey {
    pub key: crate::model::VirtualKey,
    pub secret: String,
}

/// The order of a list of keys. Every order ends with the key's id, so pages continue after
/// the last key of the previous one (its id is the cursor in every order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySort {
    /// Newest first.
    #[default]
    Newest,
    Oldest,
    /// The most spent first.
    Spend,
    /// The most recently used first; never used last.
    LastUsed,
    /// By name, A to Z (in the database's collation); unnamed keys first.
    Alias,
    /// The soonest expiry first (expired ones before); keys that never expire last.
    Expires,
}

impl KeySort {
    pub const ALL: [KeySort; 6] = [
        KeySort::Newest,
        KeySort::Oldest,
        KeySort::Spend,
        KeySort::LastUsed,
        KeySort::Alias,
        KeySort::Expires,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KeySort::Newest => "newest",
            KeySort::Oldest => "oldest",
            KeySort::Spend => "spend",
            KeySort::LastUsed => "last_used",
            KeySort::Alias => "alias",
            KeySort::Expires => "expires",
        }
    }

    pub fn parse(s: &str) -> Option<KeySort> {
        KeySort::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// As a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            KeySort::Newest => "Newest first",
            KeySort::Oldest => "Oldest first",
            KeySort::Spend => "Most spent",
            KeySort::LastUsed => "Recently used",
            KeySort::Alias => "Name, A to Z",
            KeySort::Expires => "Expiring soonest",
        }
    }
}

/// What a list of keys asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFilter {
    pub team: Option<TeamId>,
    pub user: Option<UserId>,
    pub blocked: Option<bool>,
    /// Only keys that expire within this many days from now (expired ones included; 0: only
    /// those already expired).
    #[serde(default)]
    pub expires_within_days: Option<u32>,
    pub search: Option<String>,
    /// The last key of the previous page.
    pub after: Option<crate::ids::KeyId>,
    /// 1 to [`MAX_KEYS_PAGE`]; default 50.
    pub limit: Option<u32>,
    #[serde(default)]
    pub sort: KeySort,
    /// Only the keys of the user with this email (the page's owner filter; `user` by id).
    #[serde(default)]
    pub owner_email: Option<String>,
}

/// A page of keys; `next` continues after the last.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyPage {
    pub keys: Vec<crate::model::VirtualKey>,
    pub next: Option<crate::ids::KeyId>,
    /// When it was read: which keys have expired is judged against it.
    pub now: Timestamp,
}

fn err<T>(field: &str, message: impl Into<String>) -> Result<T, FieldError> {
    Err(FieldError::new(field, message))
}

/// A rate limit (per minute, or requests in flight) of a key, team, route or policy: 0 to
/// [`MAX_RATE_LIMIT`].
pub fn rate_limit(field: &str, v: Option<i64>) -> Result<(), FieldError> {
    match v {
        Some(n) if n < 0 => err(field, "cannot be negative"),
        Some(n) if n > MAX_RATE_LIMIT => err(field, format!("at most {MAX_RATE_LIMIT}")),
        _ => Ok(()),
    }
}

/// A budget of a key, team or policy: 0 to [`MAX_KEY_BUDGET`].
pub fn budget(field: &str, v: Option<Micros>) -> Result<(), FieldError> {
    match v {
        Some(m) if m.0 < 0 => err(field, "cannot be negative"),
        Some(m) if m > MAX_KEY_BUDGET => err(field, format!("at most {MAX_KEY_BUDGET}")),
        _ => Ok(()),
    }
}

/// A budget period as typed (`30s` .. `1mo`), when one is given.
pub fn budget_period(field: &str, v: Option<&str>) -> Result<(), FieldError> {
    match v {
        Some(d) => BudgetPeriod::parse(d)
            .map(|_| ())
            .map_err(|e| FieldError::new(field, e.to_string())),
        None => Ok(()),
    }
}

fn list(
    field: &str,
    items: &[String],
    each: impl Fn(&str) -> Result<(), String>,
) -> Result<(), FieldError> {
    if items.len() > MAX_LIST_LEN {
        return err(field, format!("at most {MAX_LIST_LEN} entries"));
    }
    for item in items {
        each(item).map_err(|m| FieldError::new(field, m))?;
    }
    Ok(())
}

/// An instance name: lower-case letters, digits and `-`, 1 to 63 characters.
pub fn instance_name(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= MAX_INSTANCE_LEN
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{:?} is not an instance name (lower-case letters, digits and -, at most {MAX_INSTANCE_LEN})",
            s.chars().take(80).collect::<String>()
        ))
    }
}

impl KeySpec {
    /// Checks every field on its own and returns the spec tidied (the alias trimmed, an empty
    /// alias dropped). The first problem found is returned, naming its field.
    pub fn validate(mut self, now: Timestamp) -> Result<KeySpec, FieldError> {
        self.alias = match self.alias.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(a) => Some(name("alias", a)?),
        };
        if let Some(models) = &self.models {
            list("models", models, |m| {
                validate_pattern(m)
                    .map_err(|e| format!("{:?}: {e}", m.chars().take(80).collect::<String>()))
            })?;
        }
        if let Some(instances) = &self.instances {
            list("instances", instances, instance_name)?;
        }
        budget("max_budget", self.max_budget)?;
        budget("soft_budget", self.soft_budget)?;
        budget_period("budget_duration", self.budget_duration.as_deref())?;
        rate_limit("rpm_limit", self.rpm_limit)?;
        rate_limit("tpm_limit", self.tpm_limit)?;
        rate_limit("max_parallel", self.max_parallel)?;
        if self.expires_at.is_some_and(|at| at <= now) {
            return err("expires_at", "must be in the future");
        }
        if let Some(m) = &self.metadata {
            let size = serde_json::to_string(m)
                .map(|s| s.len())
                .unwrap_or(usize::MAX);
            if size > MAX_METADATA_BYTES {
                return err(
                    "metadata",
                    format!("at most {} KiB as JSON", MAX_METADATA_BYTES / 1024),
                );
            }
        }
        Ok(self)
    }

    /// Whether this key stays within its team's own limits: no larger budget or rate limits
    /// than the team has (a key without its own limit is bounded by the team's anyway, at the
    /// gateway). Admins may set anything; team admins and members are held to this.
    pub fn within_team(&self, team: &Team) -> Result<(), FieldError> {
        let over = |field: &str, what: String| err(field, format!("exceeds the team's {what}"));
        if let (Some(mine), Some(theirs)) = (self.max_budget, team.max_budget)
            && mine > theirs
        {
            return over("max_budget", format!("budget of {theirs}"));
        }
        for (field, mine, theirs) in [
            ("rpm_limit", self.rpm_limit, team.rpm_limit),
            ("tpm_limit", self.tpm_limit, team.tpm_limit),
        ] {
            if let (Some(mine), Some(theirs)) = (mine, theirs)
                && mine > theirs
            {
                return over(field, format!("limit of {theirs} a minute"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp(1_800_000_000_000)
    }

    fn field_of(spec: KeySpec) -> String {
        spec.validate(now()).unwrap_err().field
    }

    #[test]
    fn every_field_is_checked_and_named() {
        assert_eq!(
            KeySpec::default().validate(now()).unwrap(),
            KeySpec::default()
        );
        let tidy = KeySpec {
            alias: Some("  ci bot  ".into()),
            ..KeySpec::default()
        };
        assert_eq!(
            tidy.validate(now()).unwrap().alias.as_deref(),
            Some("ci bot")
        );
        let blank = KeySpec {
            alias: Some("   ".into()),
            ..KeySpec::default()
        };
        assert_eq!(blank.validate(now()).unwrap().alias, None);
        let cases = [
            (
                KeySpec {
                    alias: Some("x".repeat(201)),
                    ..KeySpec::default()
                },
                "alias",
            ),
            (
                KeySpec {
                    alias: Some("a\u{0}b".into()),
                    ..KeySpec::default()
                },
                "alias",
            ),
            (
                KeySpec {
                    models: Some(vec![" ".into()]),
                    ..KeySpec::default()
                },
                "models",
            ),
            (
                KeySpec {
                    models: Some(vec!["m".into(); 201]),
                    ..KeySpec::default()
                },
                "models",
            ),
            (
                KeySpec {
                    instances: Some(vec!["Prod EU".into()]),
                    ..KeySpec::default()
                },
                "instances",
            ),
            (
                KeySpec {
                    max_budget: Some(Micros(-1)),
                    ..KeySpec::default()
                },
                "max_budget",
            ),
            (
                KeySpec {
                    soft_budget: Some(Micros(MAX_KEY_BUDGET.0 + 1)),
                    ..KeySpec::default()
                },
                "soft_budget",
            ),
            (
                KeySpec {
                    budget_duration: Some("fortnight".into()),
                    ..KeySpec::default()
                },
                "budget_duration",
            ),
            (
                KeySpec {
                    rpm_limit: Some(-5),
                    ..KeySpec::default()
                },
                "rpm_limit",
            ),
            (
                KeySpec {
                    tpm_limit: Some(MAX_RATE_LIMIT + 1),
                    ..KeySpec::default()
                },
                "tpm_limit",
            ),
            (
                KeySpec {
                    max_parallel: Some(-1),
                    ..KeySpec::default()
                },
                "max_parallel",
            ),
            (
                KeySpec {
                    expires_at: Some(now()),
                    ..KeySpec::default()
                },
                "expires_at",
            ),
        ];
        for (spec, field) in cases {
            assert_eq!(field_of(spec.clone()), field, "{spec:?}");
        }
        let mut big = serde_json::Map::new();
        big.insert(
            "blob".into(),
            serde_json::Value::String("x".repeat(MAX_METADATA_BYTES)),
        );
        assert_eq!(
            field_of(KeySpec {
                metadata: Some(big),
                ..KeySpec::default()
            }),
            "metadata"
        );
        let fine = KeySpec {
            models: Some(vec!["gpt-4o".into(), "anthropic/*".into()]),
            instances: Some(vec!["default".into(), "eu-1".into()]),
            max_budget: Some(Micros(25_000_000)),
            budget_duration: Some("30d".into()),
            rpm_limit: Some(0),
            expires_at: Some(Timestamp(now().0 + 1)),
            ..KeySpec::default()
        };
        assert!(fine.validate(now()).is_ok());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = serde_json::from_str::<KeySpec>(r#"{"alias":"a","max_budgt":5}"#).unwrap_err();
        assert!(e.to_string().contains("max_budgt"), "{e}");
    }

    #[test]
    fn a_key_stays_within_its_team() {
        let team = Team {
            id: TeamId(uuid::Uuid::from_u128(7)),
            name: "t".into(),
            max_budget: Some(Micros(100)),
            budget_duration: None,
            rpm_limit: Some(60),
            tpm_limit: None,
            spend: Micros(0),
            policy: Default::default(),
            created_at: now(),
            updated_at: now(),
        };
        assert!(KeySpec::default().within_team(&team).is_ok());
        let at = KeySpec {
            max_budget: Some(Micros(100)),
            rpm_limit: Some(60),
            tpm_limit: Some(1_000_000),
            ..KeySpec::default()
        };
        assert!(at.within_team(&team).is_ok());
        let over = KeySpec {
            max_budget: Some(Micros(101)),
            ..KeySpec::default()
        };
        assert_eq!(over.within_team(&team).unwrap_err().field, "max_budget");
        let fast = KeySpec {
            rpm_limit: Some(61),
            ..KeySpec::default()
        };
        let e = fast.within_team(&team).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("rpm_limit", "exceeds the team's limit of 60 a minute")
        );
    }
}
