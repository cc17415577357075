//! Teams and their members.

use crate::harness::{T0, assert_safe, both, new_team, user};
use std::sync::Arc;
use tollgate_domain::authz::TeamRole;
use tollgate_domain::{Micros, TeamId, Timestamp, UserId};
use tollgate_store::{Error, Page, Store};

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

both!(
    create_get_and_list,
    duplicate_name_is_a_conflict,
    membership,
    members_of_missing_teams_or_users_are_not_found,
);
