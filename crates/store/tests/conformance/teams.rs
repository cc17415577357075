//! Teams and their members.

use crate::harness::{T0, assert_safe, both, new_key, new_team, user};
use std::sync::Arc;
use tollgate_domain::authz::TeamRole;
use tollgate_domain::policy::MemberPolicy;
use tollgate_domain::{Micros, TeamId, Timestamp, UserId};
use tollgate_store::{Error, Page, Store, TeamSettings};

async fn create_get_and_list(store: Arc<dyn Store>) {
    let mut full = new_team("Research");
    full.settings.max_budget = Some(Micros(250_000_000));
    full.settings.budget_duration = Some("30d".to_owned());
    full.settings.rpm_limit = Some(600);
    full.settings.tpm_limit = Some(1_000_000);
    let created = store.create_team(&full).await.unwrap();
    assert_eq!(created.spend, Micros::ZERO);
    assert_eq!(created.max_budget, Some(Micros(250_000_000)));
    assert_eq!(store.get_team(full.id).await.unwrap(), created);

    let bare = store.create_team(&new_team("Platform")).await.unwrap();
    assert_eq!(store.get_team(bare.id).await.unwrap(), bare);
    assert_eq!(bare.max_budget, None);

    let names: Vec<String> = store
        .list_teams(&Page::default())
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["Platform", "Research"]);
    assert_eq!(
        store
            .list_teams(&Page {
                limit: 1,
                offset: 1
            })
            .await
            .unwrap()[0]
            .name,
        "Research"
    );
    assert!(matches!(
        store.get_team(TeamId::new()).await,
        Err(Error::NotFound)
    ));
}

async fn duplicate_name_is_a_conflict(store: Arc<dyn Store>) {
    store.create_team(&new_team("Platform")).await.unwrap();
    let err = store.create_team(&new_team("Platform")).await.unwrap_err();
    match &err {
        Error::Conflict(words) => assert!(words.contains("name"), "{words}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_safe(&err);
}

async fn membership(store: Arc<dyn Store>) {
    let ana = user(store.as_ref(), "ana@example.com").await;
    let bo = user(store.as_ref(), "bo@example.com").await;
    let platform = store.create_team(&new_team("Platform")).await.unwrap();
    let research = store.create_team(&new_team("Research")).await.unwrap();
    let later = Timestamp(T0.0 + 1);

    store
        .add_team_member(platform.id, ana.id, TeamRole::TeamAdmin, T0)
        .await
        .unwrap();
    store
        .add_team_member(platform.id, bo.id, TeamRole::Member, later)
        .await
        .unwrap();
    store
        .add_team_member(research.id, ana.id, TeamRole::Member, later)
        .await
        .unwrap();

    let members = store.list_team_members(platform.id).await.unwrap();
    let summary: Vec<(UserId, TeamRole, Timestamp)> = members
        .iter()
        .map(|m| (m.user_id, m.role, m.added_at))
        .collect();
    assert_eq!(
        summary,
        [
            (ana.id, TeamRole::TeamAdmin, T0),
            (bo.id, TeamRole::Member, later)
        ]
    );
    assert!(members.iter().all(|m| m.team_id == platform.id));

    let of_ana = store.memberships_of(ana.id).await.unwrap();
    let teams: Vec<(TeamId, TeamRole)> = of_ana.iter().map(|m| (m.team_id, m.role)).collect();
    assert_eq!(
        teams,
        [
            (platform.id, TeamRole::TeamAdmin),
            (research.id, TeamRole::Member)
        ]
    );

    let err = store
        .add_team_member(platform.id, bo.id, TeamRole::TeamAdmin, T0)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_safe(&err);
    // The failed add changed nothing.
    assert_eq!(store.list_team_members(platform.id).await.unwrap(), members);

    store.remove_team_member(platform.id, bo.id).await.unwrap();
    assert!(matches!(
        store.remove_team_member(platform.id, bo.id).await,
        Err(Error::NotFound)
    ));
    assert_eq!(store.list_team_members(platform.id).await.unwrap().len(), 1);
    assert!(store.memberships_of(bo.id).await.unwrap().is_empty());
}

async fn members_of_missing_teams_or_users_are_not_found(store: Arc<dyn Store>) {
    let ana = user(store.as_ref(), "ana@example.com").await;
    let team = store.create_team(&new_team("Platform")).await.unwrap();
    let no_team = store
        .add_team_member(TeamId::new(), ana.id, TeamRole::Member, T0)
        .await;
    assert!(matches!(no_team, Err(Error::NotFound)), "{no_team:?}");
    let no_user = store
        .add_team_member(team.id, UserId::new(), TeamRole::Member, T0)
        .await;
    assert!(matches!(no_user, Err(Error::NotFound)), "{no_user:?}");
    assert!(
        store
            .list_team_members(TeamId::new())
            .await
            .unwrap()
            .is_empty()
    );
}

/// Settings, policy, roles, the roster and a member's key count; deletes with and without keys.
async fn edit_policy_roster_and_delete(store: Arc<dyn Store>) {
    let ana = user(store.as_ref(), "ana@example.com").await;
    let bo = user(store.as_ref(), "bo@example.com").await;
    let team = store.create_team(&new_team("Platform")).await.unwrap();
    store.create_team(&new_team("Research")).await.unwrap();
    let later = Timestamp(T0.0 + 5);
    let settings = TeamSettings {
        name: "Platform EU".to_owned(),
        max_budget: Some(Micros(7)),
        budget_duration: Some("7d".to_owned()),
        rpm_limit: Some(9),
        tpm_limit: None,
    };
    let edited = store.update_team(team.id, &settings, later).await.unwrap();
    assert_eq!(
        (
            edited.name.as_str(),
            edited.max_budget,
            edited.rpm_limit,
            edited.updated_at
        ),
        ("Platform EU", Some(Micros(7)), Some(9), later)
    );
    assert_eq!(store.get_team(team.id).await.unwrap(), edited);
    let taken = TeamSettings {
        name: "Research".to_owned(),
        ..TeamSettings::default()
    };
    let err = store.update_team(team.id, &taken, later).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(store.get_team(team.id).await.unwrap(), edited, "unchanged");
    assert!(matches!(
        store.update_team(TeamId::new(), &settings, later).await,
        Err(Error::NotFound)
    ));

    // The policy round-trips; an open one reads back as open.
    let policy = MemberPolicy {
        models: Some(vec!["gpt-4o".to_owned(), "anthropic/*".to_owned()]),
        max_budget: Some(Micros(5_000_000)),
        max_keys: Some(3),
        max_expiry_days: Some(30),
        ..MemberPolicy::default()
    };
    let with = store
        .set_team_policy(team.id, &policy, later)
        .await
        .unwrap();
    assert_eq!(with.policy, policy);
    assert_eq!(store.get_team(team.id).await.unwrap().policy, policy);
    let open = store
        .set_team_policy(team.id, &MemberPolicy::default(), later)
        .await
        .unwrap();
    assert!(open.policy.is_open());

    // Roster: by email, with roles; a role change; a member's keys counted in this team only.
    store
        .add_team_member(team.id, bo.id, TeamRole::Member, T0)
        .await
        .unwrap();
    store
        .add_team_member(team.id, ana.id, TeamRole::TeamAdmin, later)
        .await
        .unwrap();
    let roster = store.team_roster(team.id).await.unwrap();
    let rows: Vec<(&str, TeamRole)> = roster
        .iter()
        .map(|m| (m.user.email.as_str(), m.role))
        .collect();
    assert_eq!(
        rows,
        [
            ("ana@example.com", TeamRole::TeamAdmin),
            ("bo@example.com", TeamRole::Member)
        ]
    );
    assert_eq!(roster[1].added_at, T0);
    store
        .set_team_member_role(team.id, bo.id, TeamRole::TeamAdmin)
        .await
        .unwrap();
    assert_eq!(
        store.team_roster(team.id).await.unwrap()[1].role,
        TeamRole::TeamAdmin
    );
    assert!(matches!(
        store
            .set_team_member_role(team.id, UserId::new(), TeamRole::Member)
            .await,
        Err(Error::NotFound)
    ));
    assert_eq!(store.count_member_keys(team.id, bo.id).await.unwrap(), 0);
    for hash in ["k1", "k2"] {
        let mut k = new_key(hash);
        k.team_id = Some(team.id);
        k.user_id = Some(bo.id);
        store.create_key(&k).await.unwrap();
    }
    assert_eq!(store.count_member_keys(team.id, bo.id).await.unwrap(), 2);
    assert_eq!(store.count_member_keys(team.id, ana.id).await.unwrap(), 0);

    // A team with keys is not deleted; without, it goes with its memberships.
    let err = store.delete_team(team.id).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_safe(&err);
    assert!(store.get_team(team.id).await.is_ok());
    let empty = store.create_team(&new_team("Empty")).await.unwrap();
    store
        .add_team_member(empty.id, ana.id, TeamRole::Member, T0)
        .await
        .unwrap();
    store.delete_team(empty.id).await.unwrap();
    assert!(matches!(
        store.get_team(empty.id).await,
        Err(Error::NotFound)
    ));
    assert_eq!(store.memberships_of(ana.id).await.unwrap().len(), 1);
    assert!(matches!(
        store.delete_team(empty.id).await,
        Err(Error::NotFound)
    ));
}

/// A key with an owner cap is refused once its owner holds that many keys in the team, and
/// creations at once cannot both take the last place.
async fn owner_cap_holds_under_concurrent_creation(store: Arc<dyn Store>) {
    let team = store.create_team(&new_team("Capped")).await.unwrap();
    let bo = user(store.as_ref(), "bo@example.com").await;
    store
        .add_team_member(team.id, bo.id, TeamRole::Member, T0)
        .await
        .unwrap();
    let capped = |hash: String| {
        let mut k = new_key(&hash);
        k.team_id = Some(team.id);
        k.user_id = Some(bo.id);
        k.owner_cap = Some(3);
        k
    };
    store.create_key(&capped("first".into())).await.unwrap();
    // Twelve at once for the two places left.
    let tries = (0..12).map(|i| {
        let store = store.clone();
        let k = capped(format!("race-{i}"));
        tokio::spawn(async move { store.create_key(&k).await })
    });
    let mut made = 0;
    for t in tries.collect::<Vec<_>>() {
        match t.await.unwrap() {
            Ok(_) => made += 1,
            Err(Error::Conflict(m)) => assert!(m.contains("the most its policy allows (3)"), "{m}"),
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(made, 2);
    assert_eq!(store.count_member_keys(team.id, bo.id).await.unwrap(), 3);
    // Without a cap (an admin's key for them), nothing is counted.
    let mut free = capped("admin-made".into());
    free.owner_cap = None;
    store.create_key(&free).await.unwrap();
    assert_eq!(store.count_member_keys(team.id, bo.id).await.unwrap(), 4);
}

both!(
    owner_cap_holds_under_concurrent_creation,
    edit_policy_roster_and_delete,
    create_get_and_list,
    duplicate_name_is_a_conflict,
    membership,
    members_of_missing_teams_or_users_are_not_found,
);
