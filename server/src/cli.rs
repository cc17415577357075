//! The command line: `serve`, `gateway`, `portal`, `migrate`, `check-config`.

use crate::config::{Config, Overrides, redact_url};
use crate::startup::{self, Mode};
use crate::telemetry;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::process::ExitCode;

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
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
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
    let outcome = runtime.block_on(async move {
        match cli.command {
            Command::Serve => startup::serve(config, Mode::SERVE).await,
            Command::Gateway => startup::serve(config, Mode::GATEWAY).await,
            Command::Portal => startup::serve(config, Mode::PORTAL).await,
            Command::Migrate => startup::migrate_only(&config).await,
            Command::CheckConfig => Ok(()),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
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
