//! Typed ids. All are UUID v7 (time-ordered), made above the store.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered id.
            #[cfg(feature = "gen")]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        #[cfg(feature = "gen")]
        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
    };
}

id_type!(
    /// A portal user.
    UserId
);
id_type!(
    /// A signed-in session (the row id, never the cookie token).
    SessionId
);
id_type!(
    /// A team.
    TeamId
);
id_type!(
    /// A virtual key (the row id, never the secret).
    KeyId
);
id_type!(
    /// An audit log entry.
    AuditId
);
id_type!(
    /// A model route.
    RouteId
);
id_type!(
    /// An upstream deployment of a route.
    DeploymentId
);
id_type!(
    /// An upstream credential.
    CredentialId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        let s = "0190f0d2-8a4b-7c3d-9e8f-0123456789ab";
        let id: UserId = s.parse().unwrap();
        assert_eq!(id.to_string(), s);
        assert!("not-a-uuid".parse::<UserId>().is_err());
    }

    #[test]
    fn serializes_as_a_plain_string() {
        let id: TeamId = "0190f0d2-8a4b-7c3d-9e8f-0123456789ab".parse().unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"0190f0d2-8a4b-7c3d-9e8f-0123456789ab\"");
    }
}
