//! The store's one error type, and how database errors become it.
//!
//! Policy: what `Display` prints is safe to show to a user. `Conflict` names the field in words;
//! `Unavailable` and `Internal` print a fixed sentence and keep the driver's message in a field
//! that only `Debug` shows (it is also logged at `debug`). No SQL, constraint names or values
//! leave this crate through `Display`.

use sqlx::error::{DatabaseError, ErrorKind};

/// Errors of every store operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The row asked for does not exist (or a row it refers to does not).
    #[error("not found")]
    NotFound,
    /// A unique field is taken, or the row is still in use; the text says which, in words.
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached; the field holds details for logs only.
    #[error("the database is unavailable")]
    Unavailable(String),
    /// Anything else that went wrong in the database; the field holds details for logs only.
    #[error("internal database error")]
    Internal(String),
    /// The database URL or set-up is unusable; the text is safe to show an operator.
    #[error("database configuration: {0}")]
    Config(String),
}

/// The result of every store operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a unique violation means, per constraint: `(needle, words)`. The needle is looked for in
/// the constraint name (Postgres) or the message (SQLite: `UNIQUE constraint failed: users.email`).
pub(crate) type Uniques = &'static [(&'static str, &'static str)];

/// Said when a unique violation matches none of the operation's needles.
const ALREADY_EXISTS: &str = "this record already exists";

impl Error {
    /// A database error, with no special meaning for unique violations.
    pub(crate) fn db(e: sqlx::Error) -> Error {
        Error::map(e, &[], None)
    }

    /// A database error from a write that may hit the given unique constraints.
    pub(crate) fn unique(uniques: Uniques) -> impl Fn(sqlx::Error) -> Error {
        move |e| Error::map(e, uniques, None)
    }

    /// A database error from a delete: a foreign key violation means the row is still referenced,
    /// which `in_use` says in words.
    pub(crate) fn delete(in_use: &'static str) -> impl Fn(sqlx::Error) -> Error {
        move |e| Error::map(e, &[], Some(in_use))
    }

    fn map(e: sqlx::Error, uniques: Uniques, in_use: Option<&'static str>) -> Error {
        tracing::debug!(error = %e, "database error");
        match e {
            sqlx::Error::RowNotFound => Error::NotFound,
            sqlx::Error::Database(db) => from_database(db.as_ref(), uniques, in_use),
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Error::Unavailable(e.to_string()),
            other => Error::Internal(other.to_string()),
        }
    }

    /// Whether the database could not be reached (as opposed to refusing the operation).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Error::Unavailable(_))
    }
}

fn from_database(db: &dyn DatabaseError, uniques: Uniques, in_use: Option<&'static str>) -> Error {
    match db.kind() {
        ErrorKind::UniqueViolation => {
            let haystack = db.constraint().unwrap_or_else(|| db.message());
            let words = uniques
                .iter()
                .find(|(needle, _)| haystack.contains(needle))
                .map_or(ALREADY_EXISTS, |(_, words)| words);
            Error::Conflict(words.to_owned())
        }
        // On a delete, other rows still refer to this one; on an insert or update, the row
        // referred to does not exist.
        ErrorKind::ForeignKeyViolation => match in_use {
            Some(words) => Error::Conflict(words.to_owned()),
            None => Error::NotFound,
        },
        _ if is_connection_problem(db) => Error::Unavailable(db.message().to_owned()),
        _ => Error::Internal(db.message().to_owned()),
    }
}

/// Errors that mean "try again later" rather than "this operation is wrong".
fn is_connection_problem(db: &dyn DatabaseError) -> bool {
    let Some(code) = db.code() else { return false };
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // SQLite extended result codes: busy or locked once the busy timeout has run out, I/O
        // error, disk full, cannot open the file.
        let primary = code.parse::<i32>().map_or(0, |c| c & 0xff);
        matches!(primary, 5 | 6 | 10 | 13 | 14)
    } else {
        // Postgres SQLSTATE classes: 08 connection, 28 authorization (wrong password), 3D the
        // database does not exist, 53 insufficient resources, 57P shutting down.
        ["08", "28", "3D", "53", "57P"]
            .iter()
            .any(|class| code.starts_with(class))
    }
}

impl Error {
    /// A failed migration run. Version mismatches are an operator's problem and say so.
    pub(crate) fn migrate(e: sqlx::migrate::MigrateError) -> Error {
        use sqlx::migrate::MigrateError as M;
        match e {
            M::Execute(e) | M::ExecuteMigration(e, _) => Error::db(e),
            M::VersionMissing(v) => Error::Config(format!(
                "the database has migration {v}, which this build does not know: \
                 was it migrated by a newer Tollgate?"
            )),
            M::VersionMismatch(v) => Error::Config(format!(
                "migration {v} was changed after it was applied to this database"
            )),
            other => {
                tracing::debug!(error = %other, "migration error");
                Error::Internal(other.to_string())
            }
        }
    }
}
