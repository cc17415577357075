//! The command line: configuration errors exit 2 and name the key; `check-config` validates.

use super::harness::command;

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(args);
    cmd.current_dir(dir.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn check_config_accepts_the_defaults() {
    let (code, out) = run(&["check-config"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("127.0.0.1:4000"), "{out}");
    assert!(out.contains("sqlite://./data/tollgate.db"), "{out}");
}

#[test]
fn unknown_keys_and_bad_values_exit_2_naming_the_key() {
    let (code, out) = run(&["check-config"], &[("TOLLGATE_LISTN", "1")]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("listn: unknown key"), "{out}");

    let (code, out) = run(
        &["check-config"],
        &[("TOLLGATE_DATABASE__MAX_CONNECTIONS", "many")],
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("database.max_connections"), "{out}");

    let (code, out) = run(&["serve", "--listen", "nonsense"], &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("listen"), "{out}");

    let (code, out) = run(
        &["check-config", "--config", "/nonexistent/tollgate.toml"],
        &[],
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("does not exist"), "{out}");
}

#[test]
fn check_config_never_prints_secrets() {
    let (code, out) = run(
        &["check-config"],
        &[
            ("TOLLGATE_MASTER_KEY", "sk-super-secret-value"),
            ("TOLLGATE_DATABASE_URL", "postgres://app:hunter2@db:5432/tg"),
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        !out.contains("sk-super-secret-value") && !out.contains("hunter2"),
        "{out}"
    );
    assert!(out.contains("master_key:       set"), "{out}");
}

#[test]
fn migrate_creates_the_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested/data");
    let data_str = data.to_str().unwrap();
    let (code, out) = run(&["migrate", "--data-dir", data_str], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("migrations applied"), "{out}");
    assert!(data.join("tollgate.db").exists());
}
