//! Fresh databases per test, and the `both!` macro that runs a test on each backend.

use sqlx::{Connection, Executor, PgConnection};
use std::sync::Arc;
use std::time::Duration;
use tollgate_domain::authz::GlobalRole;
use tollgate_domain::{KeyId, TeamId, Timestamp, UserId};
use tollgate_store::{ConnectOptions, NewKey, NewTeam, NewUser, Store};

/// The Postgres server the Postgres variants create their databases on.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub fn options() -> ConnectOptions {
    ConnectOptions {
        max_connections: 5,
        acquire_timeout: Duration::from_secs(10),
    }
}

/// A store on a database that exists for one test, removed when this is dropped.
pub struct TestDb {
    pub store: Arc<dyn Store>,
    /// The URL the store was opened with (to open a second store on the same database).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    /// A new SQLite file in a directory that does not exist yet (the store creates it).
    pub async fn sqlite(migrate: bool) -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite:{}",
            dir.path().join("nested/data/tollgate.db").display()
        );
        let store = tollgate_store::connect(&url, &options()).await.unwrap();
        if migrate {
            store.migrate().await.unwrap();
        }
        TestDb {
            store,
            url,
            _dir: Some(dir),
            pg_name: None,
        }
    }

    /// A new database on the test Postgres server.
    pub async fn postgres(migrate: bool) -> TestDb {
        let admin = admin_url();
        let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!(
                "the Postgres variants of the conformance suite need a server: cannot connect \
                 to {admin} ({e}). Start Postgres or set TEST_DATABASE_URL."
            )
        });
        let name = format!("tollgate_test_{}", UserId::new().0.simple());
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .unwrap();
        let _ = conn.close().await;
        let url = with_database(&admin, &name);
        let store = tollgate_store::connect(&url, &options()).await.unwrap();
        if migrate {
            store.migrate().await.unwrap();
        }
        TestDb {
            store,
            url,
            _dir: None,
            pg_name: Some(name),
        }
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop is synchronous and may run while a test panics: drop the database from a thread
        // of its own, with a runtime of its own. `FORCE` ends the store's open connections.
        let admin = admin_url();
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut conn = PgConnection::connect(&admin).await.ok()?;
                conn.execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await
                .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("could not drop a test database; it is named tollgate_test_*");
        }
    }
}

/// `admin` with its database name replaced.
pub fn with_database(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{host_part}/{name}{query}")
}

/// Expands each listed `async fn name(store: Arc<dyn Store>)` into `name::sqlite` and
/// `name::postgres`. With `unmigrated:` first, the store is handed over before `migrate`.
macro_rules! both {
    (unmigrated: $($name:ident),+ $(,)?) => { $crate::harness::both!(@ false; $($name),+); };
    ($($name:ident),+ $(,)?) => { $crate::harness::both!(@ true; $($name),+); };
    (@ $migrate:literal; $($name:ident),+) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let db = $crate::harness::TestDb::sqlite($migrate).await;
                    super::$name(db.store()).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let db = $crate::harness::TestDb::postgres($migrate).await;
                    super::$name(db.store()).await;
                }
            }
        )+
    };
}
pub(crate) use both;

/// A fixed instant, so timestamps compare exactly.
pub const T0: Timestamp = Timestamp(1_763_782_546_000);

/// Creates a user with the given email.
pub async fn user(store: &dyn Store, email: &str) -> tollgate_domain::model::User {
    store.create_user(&new_user(email)).await.unwrap()
}

pub fn new_user(email: &str) -> NewUser {
    NewUser {
        id: UserId::new(),
        email: email.to_owned(),
        name: format!("Name of {email}"),
        role: GlobalRole::User,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        must_change_password: false,
        now: T0,
    }
}

/// A team without budget or limits.
pub fn new_team(name: &str) -> NewTeam {
    NewTeam::named(TeamId::new(), name, T0)
}

/// Creates a team without budget or limits; its id.
pub async fn team(store: &dyn Store, name: &str) -> TeamId {
    store.create_team(&new_team(name)).await.unwrap().id
}

/// A key with no owner and no limits, told apart by its hash.
pub fn new_key(key_hash: &str) -> NewKey {
    NewKey::new(
        KeyId::new(),
        key_hash.to_owned(),
        "sk-tg-abcd".to_owned(),
        "wxyz".to_owned(),
        T0,
    )
}

/// Words that must never reach a user through an error's `Display`.
pub const LEAKS: &[&str] = &[
    "INSERT",
    "SELECT",
    "UPDATE",
    "DELETE",
    "insert",
    "select",
    "duplicate key",
    "UNIQUE",
    "constraint",
    "violates",
    "sqlx",
    "users_",
    "teams_",
    "team_members",
    "code:",
    "0x00",
];

/// Fails if `e`'s `Display` shows SQL or driver text.
pub fn assert_safe(e: &tollgate_store::Error) {
    let shown = e.to_string();
    for leak in LEAKS {
        assert!(
            !shown.contains(leak),
            "error display {shown:?} contains {leak:?}"
        );
    }
}
