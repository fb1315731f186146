//! The `hearth` binary: CLI, configuration and wiring.

mod admin;
mod alerting;
mod config;
mod server;
mod status;
mod telemetry;
mod units;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides, RawConfig};

/// mimalloc hands freed memory back to the system far more readily than
/// glibc's allocator, which kept a flushed head's memory as resident size.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One binary that replaces Prometheus, Loki and Tempo on a small server.
#[derive(Parser, Debug)]
#[command(
    name = "hearth",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Validate files without starting.
    #[command(subcommand)]
    Check(Check),
    /// Print the version.
    Version,
}

#[derive(Subcommand, Debug)]
enum Check {
    /// Validate a configuration file.
    Config {
        /// The YAML file.
        file: PathBuf,
    },
    /// Validate Prometheus rule files, reporting as `promtool check rules`.
    Rules {
        /// The rule files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Args, Debug, Default, Clone)]
struct ServeArgs {
    /// YAML configuration file.
    #[arg(long, env = "HEARTH_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (WAL, parts, manifests). Default ./data.
    #[arg(long, env = "HEARTH_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// HTTP listen address. Default 0.0.0.0:9700.
    #[arg(long, env = "HEARTH_HTTP_ADDR")]
    http_addr: Option<String>,
    /// OTLP gRPC listen address. Default 0.0.0.0:4317.
    #[arg(long, env = "HEARTH_OTLP_GRPC_ADDR")]
    otlp_grpc_addr: Option<String>,
    /// OTLP/HTTP listen address. Default 0.0.0.0:4318.
    #[arg(long, env = "HEARTH_OTLP_HTTP_ADDR")]
    otlp_http_addr: Option<String>,
    /// Keep data this long, e.g. 15d (0 = forever).
    #[arg(long, env = "HEARTH_RETENTION")]
    retention: Option<String>,
    /// Drop the oldest days beyond this size, e.g. 50GB.
    #[arg(long, env = "HEARTH_RETENTION_SIZE")]
    retention_size: Option<String>,
    /// Memory budget, e.g. 2GiB.
    #[arg(long, env = "HEARTH_MEMORY_LIMIT")]
    memory_limit: Option<String>,
    /// Rule files to load, a glob in the file name allowed (repeatable).
    #[arg(long = "rules", value_name = "GLOB")]
    rules: Vec<String>,
    /// Run rule evaluation and notifications on a clock that starts at this
    /// Unix time in milliseconds and moves only through `POST /-/clock`.
    /// For tests.
    #[arg(long, hide = true, env = "HEARTH_TEST_CLOCK")]
    test_clock: Option<i64>,
}

impl ServeArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            data_dir: self.data_dir.clone(),
            http_addr: self.http_addr.clone(),
            otlp_grpc_addr: self.otlp_grpc_addr.clone(),
            otlp_http_addr: self.otlp_http_addr.clone(),
            retention: self.retention.clone(),
            retention_size: self.retention_size.clone(),
            memory_limit: self.memory_limit.clone(),
            rules: self.rules.clone(),
        }
    }

    fn load(&self) -> anyhow::Result<Config> {
        let raw = match &self.config {
            Some(path) => RawConfig::from_file(path)?,
            None => RawConfig::default(),
        };
        let mut cfg = Config::build(raw, self.overrides())?;
        cfg.test_clock = self.test_clock;
        cfg.config_file = self.config.clone();
        Ok(cfg)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Version) => {
            println!("hearth {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some(Command::Check(Check::Config { file })) => check_config(&file),
        Some(Command::Check(Check::Rules { files })) => {
            let code = hearth_alerting::check::check_rules(
                &files,
                &mut std::io::stdout(),
                &mut std::io::stderr(),
            );
            return ExitCode::from(u8::try_from(code).unwrap_or(1));
        }
        Some(Command::Serve(args)) => run(&args),
        None => run(&cli.serve),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hearth: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(file: &std::path::Path) -> anyhow::Result<()> {
    let raw = RawConfig::from_file(file)?;
    Config::build(raw, Overrides::default())?;
    println!("{}: OK", file.display());
    Ok(())
}

fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let cfg = args.load()?;
    telemetry::init_logging(&cfg.log_level, cfg.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("hearth")
        .build()?;
    let reload_args = args.clone();
    let loader: alerting::ConfigLoader = std::sync::Arc::new(move || reload_args.load());
    runtime.block_on(server::serve(cfg, loader))
}
