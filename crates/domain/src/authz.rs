//! Roles and the permission rules: who may do what to which object.
//!
//! Every server function and admin API handler calls [`Actor::authorize`] before it touches the
//! store; hiding a button in the portal is never the check.

use crate::ids::{TeamId, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A user's role across the whole installation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GlobalRole {
    /// Everything.
    Admin,
    /// Reads everything except secrets; changes nothing.
    Viewer,
    /// No installation-wide rights: what they may do comes from their team roles.
    User,
}

/// A user's role in one team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamRole {
    /// Manages the team's members, keys and self-service policy.
    TeamAdmin,
    /// Manages their own keys within the team's policy; reads the team's spend.
    Member,
}

impl GlobalRole {
    pub const ALL: [GlobalRole; 3] = [GlobalRole::Admin, GlobalRole::Viewer, GlobalRole::User];

    pub fn as_str(self) -> &'static str {
        match self {
            GlobalRole::Admin => "admin",
            GlobalRole::Viewer => "viewer",
            GlobalRole::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<GlobalRole> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl TeamRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TeamRole::TeamAdmin => "team_admin",
            TeamRole::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<TeamRole> {
        match s {
            "team_admin" => Some(TeamRole::TeamAdmin),
            "member" => Some(TeamRole::Member),
            _ => None,
        }
    }
}

impl fmt::Display for GlobalRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for TeamRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is asking: a signed-in user, or the master key (an admin with no user row).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub role: GlobalRole,
    pub teams: Vec<(TeamId, TeamRole)>,
}

/// What they want to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    ReadDashboard,
    ReadUsers,
    ManageUsers,
    CreateTeam,
    ReadTeam,
    ManageTeam,
    ReadKeys,
    ManageKeys,
    ReadRoutes,
    ManageRoutes,
    ManageCredentials,
    ManageSettings,
    ReadSpend,
    ReadAudit,
    ReadInstances,
}

impl Action {
    pub const ALL: [Action; 15] = [
        Action::ReadDashboard,
        Action::ReadUsers,
        Action::ManageUsers,
        Action::CreateTeam,
        Action::ReadTeam,
        Action::ManageTeam,
        Action::ReadKeys,
        Action::ManageKeys,
        Action::ReadRoutes,
        Action::ManageRoutes,
        Action::ManageCredentials,
        Action::ManageSettings,
        Action::ReadSpend,
        Action::ReadAudit,
        Action::ReadInstances,
    ];

    /// Read actions are open to viewers; the rest change state.
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Action::ReadDashboard
                | Action::ReadUsers
                | Action::ReadTeam
                | Action::ReadKeys
                | Action::ReadRoutes
                | Action::ReadSpend
                | Action::ReadAudit
                | Action::ReadInstances
        )
    }
}

/// On which object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// The installation as a whole (lists across teams, settings, routes).
    Global,
    /// One team and everything in it.
    Team(TeamId),
    /// One virtual key, by the team and user that own it.
    Key {
        team: Option<TeamId>,
        owner: Option<UserId>,
    },
    /// One user's account.
    User(UserId),
}

/// A refusal. Its message is safe to show: it names the action, never the object's contents.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("you do not have permission to do this ({action:?})")]
pub struct Denied {
    pub action: Action,
}

impl Actor {
    /// The master key: an admin without a user row.
    pub fn master() -> Actor {
        Actor {
            user_id: None,
            role: GlobalRole::Admin,
            teams: Vec::new(),
        }
    }

    pub fn team_role(&self, team: TeamId) -> Option<TeamRole> {
        self.teams.iter().find(|(t, _)| *t == team).map(|(_, r)| *r)
    }

    fn is_team_admin_of(&self, team: TeamId) -> bool {
        self.team_role(team) == Some(TeamRole::TeamAdmin)
    }

    fn is_member_of(&self, team: TeamId) -> bool {
        self.team_role(team).is_some()
    }

    fn is_self(&self, user: Option<UserId>) -> bool {
        user.is_some() && user == self.user_id
    }

    /// Whether this actor may do `action` on `target`.
    pub fn allows(&self, action: Action, target: Target) -> bool {
        match self.role {
            GlobalRole::Admin => return true,
            GlobalRole::Viewer if action.is_read() => return true,
            GlobalRole::Viewer | GlobalRole::User => {}
        }
        use Action as A;
        match (action, target) {
            (A::ReadDashboard | A::ReadRoutes | A::ReadInstances, Target::Global) => true,
            // Team admins look users up to invite them; everyone may read their own account.
            (A::ReadUsers, Target::Global) => {
                self.teams.iter().any(|(_, r)| *r == TeamRole::TeamAdmin)
            }
            (A::ReadUsers, Target::User(u)) => self.is_self(Some(u)),
            (A::ReadTeam | A::ReadSpend, Target::Team(t)) => self.is_member_of(t),
            (A::ManageTeam | A::ReadAudit, Target::Team(t)) => self.is_team_admin_of(t),
            (A::ReadKeys | A::ManageKeys, Target::Team(t)) => self.is_team_admin_of(t),
            (
                A::ReadKeys | A::ManageKeys | A::ReadSpend,
                Target::Key {
                    team: Some(t),
                    owner,
                },
            ) => self.is_team_admin_of(t) || (self.is_member_of(t) && self.is_self(owner)),
            // A key outside any team has no policy to keep a member within: admins manage those.
            (A::ReadKeys | A::ReadSpend, Target::Key { team: None, owner }) => self.is_self(owner),
            _ => false,
        }
    }

    pub fn authorize(&self, action: Action, target: Target) -> Result<(), Denied> {
        if self.allows(action, target) {
            Ok(())
        } else {
            Err(Denied { action })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn team(n: u128) -> TeamId {
        TeamId(Uuid::from_u128(n))
    }
    fn user(n: u128) -> UserId {
        UserId(Uuid::from_u128(n))
    }

    const ME: u128 = 1;
    const OTHER_USER: u128 = 2;
    const MY_TEAM: u128 = 10;
    const OTHER_TEAM: u128 = 11;

    #[derive(Clone, Copy, Debug)]
    enum Who {
        Admin,
        Master,
        Viewer,
        TeamAdmin,
        Member,
        NoTeam,
    }

    fn actor(who: Who) -> Actor {
        let me = Some(user(ME));
        match who {
            Who::Admin => Actor {
                user_id: me,
                role: GlobalRole::Admin,
                teams: vec![],
            },
            Who::Master => Actor::master(),
            Who::Viewer => Actor {
                user_id: me,
                role: GlobalRole::Viewer,
                teams: vec![],
            },
            Who::TeamAdmin => Actor {
                user_id: me,
                role: GlobalRole::User,
                teams: vec![(team(MY_TEAM), TeamRole::TeamAdmin)],
            },
            Who::Member => Actor {
                user_id: me,
                role: GlobalRole::User,
                teams: vec![(team(MY_TEAM), TeamRole::Member)],
            },
            Who::NoTeam => Actor {
                user_id: me,
                role: GlobalRole::User,
                teams: vec![],
            },
        }
    }

    /// Targets by name, so the table below reads as role x action x own/other.
    fn target(name: &str) -> Target {
        match name {
            "global" => Target::Global,
            "my_team" => Target::Team(team(MY_TEAM)),
            "other_team" => Target::Team(team(OTHER_TEAM)),
            "my_key" => Target::Key {
                team: Some(team(MY_TEAM)),
                owner: Some(user(ME)),
            },
            "teammate_key" => Target::Key {
                team: Some(team(MY_TEAM)),
                owner: Some(user(OTHER_USER)),
            },
            "other_team_key" => Target::Key {
                team: Some(team(OTHER_TEAM)),
                owner: Some(user(ME)),
            },
            "my_teamless_key" => Target::Key {
                team: None,
                owner: Some(user(ME)),
            },
            "me" => Target::User(user(ME)),
            "other_user" => Target::User(user(OTHER_USER)),
            other => unreachable!("unknown target {other}"),
        }
    }

    #[test]
    fn admins_and_the_master_key_may_do_everything() {
        for who in [Who::Admin, Who::Master] {
            for action in Action::ALL {
                for t in [
                    "global",
                    "my_team",
                    "other_team",
                    "teammate_key",
                    "other_user",
                ] {
                    assert!(
                        actor(who).allows(action, target(t)),
                        "{who:?} {action:?} {t}"
                    );
                }
            }
        }
    }

    #[test]
    fn viewers_read_everything_and_change_nothing() {
        let v = actor(Who::Viewer);
        for action in Action::ALL {
            for t in ["global", "other_team", "teammate_key", "other_user"] {
                assert_eq!(
                    v.allows(action, target(t)),
                    action.is_read(),
                    "{action:?} {t}"
                );
            }
        }
    }

    #[test]
    fn team_roles_follow_the_table() {
        use Action as A;
        // (who, action, target, allowed)
        let table: &[(Who, Action, &str, bool)] = &[
            (Who::TeamAdmin, A::ManageTeam, "my_team", true),
            (Who::TeamAdmin, A::ManageTeam, "other_team", false),
            (Who::TeamAdmin, A::ReadKeys, "my_team", true),
            (Who::TeamAdmin, A::ManageKeys, "teammate_key", true),
            (Who::TeamAdmin, A::ManageKeys, "other_team_key", false),
            (Who::TeamAdmin, A::ReadAudit, "my_team", true),
            (Who::TeamAdmin, A::ReadAudit, "global", false),
            (Who::TeamAdmin, A::ReadUsers, "global", true),
            (Who::TeamAdmin, A::CreateTeam, "global", false),
            (Who::TeamAdmin, A::ManageUsers, "other_user", false),
            (Who::TeamAdmin, A::ManageRoutes, "global", false),
            (Who::Member, A::ReadTeam, "my_team", true),
            (Who::Member, A::ReadTeam, "other_team", false),
            (Who::Member, A::ReadSpend, "my_team", true),
            (Who::Member, A::ReadSpend, "other_team", false),
            (Who::Member, A::ManageKeys, "my_key", true),
            (Who::Member, A::ManageKeys, "teammate_key", false),
            (Who::Member, A::ReadKeys, "teammate_key", false),
            (Who::Member, A::ReadKeys, "my_team", false),
            (Who::Member, A::ManageKeys, "other_team_key", false),
            (Who::Member, A::ManageKeys, "my_teamless_key", false),
            (Who::Member, A::ReadKeys, "my_teamless_key", true),
            (Who::Member, A::ManageTeam, "my_team", false),
            (Who::Member, A::ReadUsers, "global", false),
            (Who::Member, A::ReadUsers, "me", true),
            (Who::Member, A::ReadUsers, "other_user", false),
            (Who::Member, A::ReadRoutes, "global", true),
            (Who::Member, A::ReadDashboard, "global", true),
            (Who::Member, A::ManageSettings, "global", false),
            (Who::Member, A::ManageCredentials, "global", false),
            (Who::NoTeam, A::ReadTeam, "my_team", false),
            (Who::NoTeam, A::ManageKeys, "my_key", false),
            (Who::NoTeam, A::ReadInstances, "global", true),
            (Who::NoTeam, A::ReadSpend, "global", false),
        ];
        for &(who, action, t, allowed) in table {
            assert_eq!(
                actor(who).allows(action, target(t)),
                allowed,
                "{who:?} {action:?} {t}"
            );
            assert_eq!(actor(who).authorize(action, target(t)).is_ok(), allowed);
        }
    }

    #[test]
    fn role_names_round_trip() {
        for r in GlobalRole::ALL {
            assert_eq!(GlobalRole::parse(r.as_str()), Some(r));
        }
        assert_eq!(TeamRole::parse("team_admin"), Some(TeamRole::TeamAdmin));
        assert_eq!(GlobalRole::parse("root"), None);
    }
}
