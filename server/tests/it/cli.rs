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

#[test]
fn import_litellm_writes_routes_once_and_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_str = data.to_str().unwrap();
    let yaml = dir.path().join("litellm.yaml");
    std::fs::write(
        &yaml,
        "model_list:\n  - model_name: gpt-4o\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: os.environ/OPENAI_API_KEY\n  - model_name: gpt-4o\n    litellm_params:\n      model: openai/gpt-4o-2024-08-06\n      api_key: os.environ/OPENAI_API_KEY\n  - model_name: titan\n    litellm_params:\n      model: bedrock/titan\n",
    )
    .unwrap();
    let yaml_str = yaml.to_str().unwrap();
    assert_eq!(run(&["migrate", "--data-dir", data_str], &[]).0, 0);

    let (code, out) = run(
        &[
            "import",
            "litellm",
            yaml_str,
            "--dry-run",
            "--data-dir",
            data_str,
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("route gpt-4o (2 deployment(s), weighted)"),
        "{out}"
    );
    assert!(out.contains("provider `bedrock` is not supported"), "{out}");
    assert!(out.contains("dry run: nothing was written"), "{out}");

    let (code, out) = run(
        &["import", "litellm", yaml_str, "--data-dir", data_str],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("credential env:OPENAI_API_KEY created"),
        "{out}"
    );
    assert!(
        out.contains("route gpt-4o created with 2 deployment(s)"),
        "{out}"
    );

    // A second import changes nothing and says so: the credential is reused, the route exists.
    let (code, out) = run(
        &["import", "litellm", yaml_str, "--data-dir", data_str],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        !out.contains("credential env:OPENAI_API_KEY created"),
        "{out}"
    );
    assert!(out.contains("route gpt-4o not created"), "{out}");

    let (code, out) = run(
        &[
            "import",
            "litellm",
            "/nonexistent.yaml",
            "--data-dir",
            data_str,
        ],
        &[],
    );
    assert_ne!(code, 0);
    assert!(out.contains("cannot read"), "{out}");
}

/// `store-prompts` refuses what it cannot act on, saying what, and changes nothing; on a real
/// key it reports the new setting.
#[test]
fn store_prompts_switches_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/t.db", dir.path().display());
    let env = [("TOLLGATE_DATABASE_URL", db.as_str())];
    let (code, out) = run(&["migrate"], &env);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&["keys", "store-prompts", "not-a-uuid", "on"], &env);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("is not a key id"), "{out}");
    let (code, out) = run(
        &[
            "keys",
            "store-prompts",
            "01a25122-d448-72ec-8046-6490ba12b93a",
            "on",
        ],
        &env,
    );
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("no key 01a25122-d448-72ec-8046-6490ba12b93a"),
        "{out}"
    );
    let (code, out) = run(
        &[
            "keys",
            "store-prompts",
            "01a25122-d448-72ec-8046-6490ba12b93a",
            "maybe",
        ],
        &env,
    );
    assert_eq!(code, 2, "clap refuses the value: {out}");
    assert!(out.contains("maybe"), "{out}");
    let (code, out) = run(&["teams", "store-prompts", "No Such Team", "on"], &env);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("no team named \"No Such Team\""), "{out}");

    // `keys create` keeps the admin API's rules and names the flag that broke one.
    for (flags, said) in [
        (&["--rpm=-5"][..], "--rpm: cannot be negative"),
        (&["--max-budget=-1"][..], "--max-budget: cannot be negative"),
        (&["--models", " "][..], "--models: "),
        (&["--instances", "Prod EU"][..], "--instances: "),
        (
            &["--budget-duration", "fortnight"][..],
            "--budget-duration: ",
        ),
    ] {
        let mut args = vec!["keys", "create"];
        args.extend_from_slice(flags);
        let (code, out) = run(&args, &env);
        assert_ne!(code, 0, "{flags:?}: {out}");
        assert!(out.contains(said), "{flags:?}: {out}");
    }
    let (code, out) = run(
        &["keys", "create", "--alias", "cli", "--store-prompts"],
        &env,
    );
    assert_eq!(code, 0, "{out}");
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap()
            .to_owned()
    };
    let (id, secret) = (field("id:"), field("key:"));
    let (code, out) = run(&["keys", "store-prompts", &id, "off"], &env);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("stores prompts: off"), "{out}");

    // The two changes are in the audit log, by the command line; the refusals wrote nothing.
    let entries = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = tollgate_store::connect(&db, &tollgate_store::ConnectOptions::default())
            .await
            .unwrap();
        store
            .list_audit(&tollgate_store::AuditQuery {
                limit: 50,
                ..tollgate_store::AuditQuery::default()
            })
            .await
            .unwrap()
    });
    let seen: Vec<(&str, &str, Option<&str>)> = entries
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.actor_label.as_str(),
                e.object_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("key.store_prompts", "command line", Some(id.as_str())),
            ("key.create", "command line", Some(id.as_str())),
        ],
        "newest first"
    );
    assert_eq!(
        entries[0].before.as_deref(),
        Some(r#"{"store_prompts":true}"#)
    );
    assert_eq!(
        entries[0].after.as_deref(),
        Some(r#"{"store_prompts":false}"#)
    );
    let created = entries[1].after.as_deref().unwrap();
    assert!(created.contains(r#""alias":"cli""#), "{created}");
    assert!(
        !created.contains(&secret),
        "the secret is never in the audit log"
    );
}

/// `teams create|list` and `keys list|rotate`: the same rules as the admin API, refusals named by
/// flag, and a rotation whose grace period the output states.
#[test]
fn teams_and_key_rotation_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/t.db", dir.path().display());
    let env = [("TOLLGATE_DATABASE_URL", db.as_str())];
    assert_eq!(run(&["migrate"], &env).0, 0);
    let (code, out) = run(
        &[
            "teams",
            "create",
            "Platform",
            "--max-budget",
            "25",
            "--budget-duration",
            "30d",
        ],
        &env,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("created team Platform"), "{out}");
    for (args, said) in [
        (&["teams", "create", "Platform"][..], "already exists"),
        (&["teams", "create", " "][..], "name: "),
        (&["teams", "create", "X", "--rpm=-1"][..], "--rpm: "),
        (
            &["teams", "create", "X", "--max-budget", "lots"][..],
            "--max-budget",
        ),
    ] {
        let (code, out) = run(args, &env);
        assert_ne!(code, 0, "{args:?}: {out}");
        assert!(out.contains(said), "{args:?}: {out}");
    }
    let (code, out) = run(&["teams", "list"], &env);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().count(), 1, "one team: {out}");
    assert!(
        out.contains("Platform") && out.contains("$25.00 / 30d"),
        "{out}"
    );

    let (code, out) = run(
        &["keys", "create", "--alias", "ci", "--team", "Platform"],
        &env,
    );
    assert_eq!(code, 0, "{out}");
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("id:"))
        .unwrap()
        .trim()
        .to_owned();
    let (code, out) = run(&["keys", "list", "--team", "Platform"], &env);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&id) && out.contains("ci") && out.contains("active"),
        "{out}"
    );
    let (code, out) = run(&["keys", "list", "--search", "nothing-like-it"], &env);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().count(), 1, "the header only: {out}");
    // Sorted and by owner: a second key, named to sort first; nobody owns either.
    let (code, out) = run(&["keys", "create", "--alias", "a-first"], &env);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&["keys", "list", "--sort", "alias"], &env);
    assert_eq!(code, 0, "{out}");
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert!(
        rows.len() == 2 && rows[0].contains("a-first") && rows[1].contains("ci"),
        "{out}"
    );
    let (code, out) = run(&["keys", "list", "--owner", "nobody@example.com"], &env);
    assert_eq!((code, out.lines().count()), (0, 1), "{out}");
    let (code, out) = run(&["keys", "list", "--sort", "cheapest"], &env);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("one of newest, oldest, spend"), "{out}");

    for (args, said) in [
        (vec!["keys", "rotate", &id, "--grace", "1mo"], "--grace"),
        (
            vec!["keys", "rotate", &id, "--grace", "31d"],
            "--grace: at most",
        ),
        (vec!["keys", "rotate", "not-a-uuid"], "is not a key id"),
        (
            vec!["keys", "rotate", "01a25122-d448-72ec-8046-6490ba12b93a"],
            "no key 01a25122",
        ),
    ] {
        let (code, out) = run(&args, &env);
        assert_ne!(code, 0, "{args:?}: {out}");
        assert!(out.contains(said), "{args:?}: {out}");
    }
    let (code, out) = run(&["keys", "rotate", &id, "--grace", "12h"], &env);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("the previous secret works until"), "{out}");
    assert!(
        out.contains(&format!("id:     {id}")),
        "the same key: {out}"
    );
    let (code, out) = run(&["keys", "rotate", &id], &env);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("the previous secret no longer works"), "{out}");
}
