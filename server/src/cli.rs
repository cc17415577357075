//! The command line: `serve`, `gateway`, `portal`, `migrate`, `check-config`, `check-manifests`.

use crate::commands;
use crate::config::{Config, Overrides, redact_url};
use crate::startup::{self, Mode};
use crate::telemetry;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::process::ExitCode;
use tollgate_domain::Timestamp;

/// Exit code for a configuration that cannot be used.
pub const EXIT_CONFIG: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "tollgate",
    version,
    about = "Tollgate: an LLM gateway and its admin portal"
)]
struct Cli {
    /// Configuration file (default: ./tollgate.toml when present).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Address to listen on, e.g. 0.0.0.0:4000 (also TOLLGATE_LISTEN).
    #[arg(long, global = true, value_name = "ADDR")]
    listen: Option<String>,
    /// Folder for the SQLite database and the spend spool (also TOLLGATE_DATA_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// sqlite://... or postgres://... (also TOLLGATE_DATABASE_URL).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Portal, admin API and gateway on one port (the single-node default).
    Serve,
    /// A gateway process (in a cluster: one Deployment per instance).
    Gateway,
    /// The portal and admin API only (in a cluster: one Deployment).
    Portal,
    /// Applies database migrations and exits.
    Migrate,
    /// Validates the configuration and exits 0 (valid) or 2 (not).
    CheckConfig,
    /// Diagnoses rendered Kubernetes manifests (Service selectors spanning instances); exits 1 on
    /// a critical finding.
    CheckManifests {
        /// Multi-document YAML files (`helm template ...`, `kubectl kustomize ...`); `-` for stdin.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Virtual keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Teams.
    Teams {
        #[command(subcommand)]
        command: TeamsCommand,
    },
    /// Imports routes from another gateway's configuration.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// A LiteLLM proxy config (model_list, router_settings): routes, deployments, credential references.
    Litellm {
        /// The LiteLLM config.yaml.
        path: PathBuf,
        /// Print what would be created, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Create the routes for this instance only (default: every instance).
        #[arg(long)]
        instance: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Creates a key and prints its secret once.
    Create(commands::keys::CreateArgs),
    /// Lists keys, newest first.
    List(commands::keys::ListArgs),
    /// Gives a key a new secret (printed once); the old one keeps working for --grace.
    Rotate {
        /// The key's id (a UUID).
        key_id: String,
        /// How long the old secret keeps working: 30s, 15m, 12h, 7d (at most 30 days);
        /// default: it stops at once.
        #[arg(long)]
        grace: Option<String>,
    },
    /// Blocks a key by id: every gateway refuses it within a second.
    Block {
        /// The key's id (a UUID), as `keys create` printed it.
        key_id: String,
    },
    /// Keeps (on) or stops keeping (off) a key's prompts and completions in the request log.
    StorePrompts {
        /// The key's id (a UUID).
        key_id: String,
        #[arg(value_enum)]
        switch: commands::keys::Switch,
    },
}

#[derive(Debug, Subcommand)]
enum TeamsCommand {
    /// Creates a team.
    Create(commands::keys::TeamArgs),
    /// Lists teams by name.
    List,
    /// Keeps (on) or stops keeping (off) the prompts and completions of every key of a team.
    StorePrompts {
        /// The team's id or exact name.
        team: String,
        #[arg(value_enum)]
        switch: commands::keys::Switch,
    },
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    // Needs no configuration: it must work on a build machine with none.
    if let Command::CheckManifests { files } = &cli.command {
        return commands::manifests::run(files);
    }
    let env: Vec<(String, String)> = std::env::vars().collect();
    let overrides = Overrides {
        listen: cli.listen,
        data_dir: cli.data_dir,
        database_url: cli.database_url,
    };
    let config = match Config::load(cli.config.as_deref(), &env, &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tollgate: invalid configuration:\n{e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Command::CheckConfig = cli.command {
        print_summary(&config);
        return ExitCode::SUCCESS;
    }
    telemetry::init(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tollgate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let writer = startup::WriterSlot::default();
    let slot = writer.clone();
    let outcome = runtime.block_on(async move {
        match cli.command {
            Command::Serve => startup::serve(config, Mode::SERVE, slot).await,
            Command::Gateway => startup::serve(config, Mode::GATEWAY, slot).await,
            Command::Portal => startup::serve(config, Mode::PORTAL, slot).await,
            Command::Migrate => startup::migrate_only(&config).await,
            Command::CheckConfig | Command::CheckManifests { .. } => Ok(()),
            Command::Keys { command } => run_keys(&config, command).await,
            Command::Teams { command } => run_teams(&config, command).await,
            Command::Import {
                command:
                    ImportCommand::Litellm {
                        path,
                        dry_run,
                        instance,
                    },
            } => run_import(&config, &path, dry_run, instance.as_deref()).await,
        }
    });
    // Streams still open when the shutdown grace ran out are dropped with the runtime; their
    // accounting runs as they drop and lands in the writer's queue, which goes to the spool
    // for the next start to replay.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    if let Some(w) = writer.get() {
        let n = w.spool_leftovers();
        if n > 0 {
            tracing::warn!(
                events = n,
                "spend of requests cut at exit spooled; the next start replays it"
            );
        }
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_import(
    config: &Config,
    path: &std::path::Path,
    dry_run: bool,
    instance: Option<&str>,
) -> anyhow::Result<()> {
    use tollgate_app::server::import;
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let plan = import::convert(
        import::parse(&text).map_err(anyhow::Error::msg)?,
        instance,
        tollgate_domain::Timestamp::now(),
    );
    for r in &plan.routes {
        println!(
            "route {} ({} deployment(s), {})",
            r.model_name,
            r.deployments.len(),
            r.strategy.as_str()
        );
    }
    for note in &plan.not_converted {
        println!("not converted: {note}");
    }
    if dry_run {
        println!("dry run: nothing was written");
        return Ok(());
    }
    let store = commands::open_store(config).await?;
    for line in import::apply(store.as_ref(), plan).await? {
        println!("{line}");
    }
    Ok(())
}

async fn run_keys(config: &Config, command: KeysCommand) -> anyhow::Result<()> {
    let store = commands::open_store(config).await?;
    match command {
        KeysCommand::Create(args) => {
            let (key, secret) = commands::keys::create(&store, args).await?;
            println!("id:     {}", key.id);
            println!("key:    {secret}");
            println!("        (shown once: store it now; Tollgate keeps only its hash)");
        }
        KeysCommand::List(args) => {
            let keys = commands::keys::list(&store, args).await?;
            println!(
                "{:<36}  {:<20}  {:<24}  {:<8}  spend",
                "id", "key", "name", "state"
            );
            let now = Timestamp::now();
            for k in keys {
                println!(
                    "{:<36}  {:<20}  {:<24}  {:<8}  {}",
                    k.id,
                    k.masked(),
                    k.alias.as_deref().unwrap_or("-"),
                    k.state(now),
                    k.spend
                );
            }
        }
        KeysCommand::Rotate { key_id, grace } => {
            let (key, secret) = commands::keys::rotate(&store, &key_id, grace.as_deref()).await?;
            println!("id:     {}", key.id);
            println!("key:    {secret}");
            println!("        (shown once: store it now; Tollgate keeps only its hash)");
            match key.previous_expires_at {
                Some(until) => println!("the previous secret works until {until}"),
                None => println!("the previous secret no longer works"),
            }
        }
        KeysCommand::Block { key_id } => {
            let key = commands::keys::block(&store, &key_id).await?;
            println!("blocked {} ({})", key.id, key.masked());
        }
        KeysCommand::StorePrompts { key_id, switch } => {
            let key = commands::keys::store_prompts(&store, &key_id, switch).await?;
            println!(
                "{} ({}) stores prompts: {}",
                key.id,
                key.masked(),
                if key.store_prompts { "on" } else { "off" }
            );
        }
    }
    Ok(())
}

async fn run_teams(config: &Config, command: TeamsCommand) -> anyhow::Result<()> {
    let store = commands::open_store(config).await?;
    match command {
        TeamsCommand::Create(args) => {
            let team = commands::keys::create_team(&store, args).await?;
            println!("created team {} ({})", team.name, team.id);
        }
        TeamsCommand::List => {
            for t in commands::keys::list_teams(&store).await? {
                let budget = t.max_budget.map_or_else(
                    || "no budget".to_owned(),
                    |b| format!("{b} / {}", t.budget_duration.as_deref().unwrap_or("ever")),
                );
                println!("{}  {}  spend {}  {budget}", t.id, t.name, t.spend);
            }
        }
        TeamsCommand::StorePrompts { team, switch } => {
            let id = commands::keys::team_store_prompts(&store, &team, switch).await?;
            let on = switch == commands::keys::Switch::On;
            println!(
                "team {id} stores prompts: {}",
                if on { "on" } else { "off" }
            );
        }
    }
    Ok(())
}

/// What `check-config` prints: the effective settings, secrets shown only as set or unset.
fn print_summary(c: &Config) {
    let set = |s: &Option<secrecy::SecretString>| {
        if s.as_ref().is_some_and(|v| !v.expose_secret().is_empty()) {
            "set"
        } else {
            "not set"
        }
    };
    println!("configuration is valid");
    println!("  listen:           {}", c.listen);
    println!("  database_url:     {}", redact_url(&c.database_url()));
    println!("  data_dir:         {}", c.data_dir.display());
    println!("  site_root:        {}", c.site_root.display());
    println!("  instance:         {}", c.instance);
    println!(
        "  redis_url:        {}",
        c.redis_url
            .as_deref()
            .map(redact_url)
            .unwrap_or_else(|| "not set".into())
    );
    println!("  master_key:       {}", set(&c.master_key));
    println!("  admin_password:   {}", set(&c.admin_password));
    println!("  secret_key:       {}", set(&c.secret_key));
}
