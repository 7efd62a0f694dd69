//! `readout`: the server binary.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use readout_app::Actor;
use readout_server::config::Config;
use readout_server::demo::{Demo, shutdown_signal};
use readout_server::store::{StoreTask, with_store};
use readout_storage::Database;
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "readout",
    version,
    about = "Readout server: watches the output of any command"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the agent API and the user API.
    Serve(ConfigArgs),
    /// Start a server on SQLite with an agent reporting this machine.
    Demo(ConfigArgs),
    /// Add, remove and list monitored hosts.
    Host {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(subcommand)]
        command: HostCommand,
    },
    /// Dashboard accounts.
    User {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Parse command output into variables, as the server does, and print
    /// them as JSON (`{"name": value, …}`).
    Parse(ParseArgs),
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum HostCommand {
    /// Create a host; print its credentials and the agent install command.
    Add {
        name: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a host: its agent stops on its next cycle.
    Remove {
        /// The host's name, or its id (`h_…`) when several workspaces use the name.
        name: String,
    },
    /// List hosts.
    List,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from standard input (one
    /// line). The first account owns a new workspace; later ones join it.
    Add {
        email: String,
        #[arg(long)]
        name: String,
        /// Role of a later account: admin, editor or viewer.
        #[arg(long, default_value = "viewer")]
        role: String,
        /// Name of the first account's workspace.
        #[arg(long, default_value = "My servers")]
        workspace: String,
        /// A later account owns a new, empty workspace of this name
        /// instead of joining the first one.
        #[arg(long, value_name = "NAME", conflicts_with = "role")]
        new_workspace: Option<String>,
    },
}

#[derive(Debug, Args)]
struct ParseArgs {
    /// The preset to use (see --list-presets).
    #[arg(long, required_unless_present_any = ["list_presets", "parser_config"], conflicts_with = "parser_config")]
    preset: Option<String>,
    /// A parser configuration (JSON): a preset and/or variables taken from
    /// table cells, regular expressions, keys, JSON paths or counts.
    #[arg(long = "config", value_name = "FILE.json")]
    parser_config: Option<PathBuf>,
    /// The command line that produced the output (flags such as `free -m`
    /// change what bare numbers mean); default: the preset's own command.
    #[arg(long)]
    command: Option<String>,
    /// The command's exit status (a Nagios plugin's status is its exit code).
    #[arg(long)]
    exit_code: Option<i32>,
    /// List the presets and the variables each yields.
    #[arg(long)]
    list_presets: bool,
    /// The output to parse; `-` or nothing reads standard input.
    file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the default configuration file.
    Default,
}

/// Settings shared by every subcommand that opens the store. Each overrides
/// the config file; each has a `READOUT_…` environment twin.
#[derive(Debug, Args)]
struct ConfigArgs {
    /// TOML configuration file.
    #[arg(long, env = "READOUT_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[arg(long, env = "READOUT_LISTEN", global = true)]
    listen: Option<SocketAddr>,
    #[arg(long, env = "READOUT_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER:PASSWORD@HOST/DB
    #[arg(
        long,
        env = "READOUT_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    database_url: Option<String>,
    #[arg(long, env = "READOUT_PUBLIC_URL", global = true)]
    public_url: Option<String>,
    #[arg(long, env = "READOUT_TLS_CERT", global = true)]
    tls_cert: Option<PathBuf>,
    #[arg(long, env = "READOUT_TLS_KEY", global = true)]
    tls_key: Option<PathBuf>,
    #[arg(
        long,
        env = "READOUT_ADMIN_TOKEN",
        global = true,
        hide_env_values = true
    )]
    admin_token: Option<String>,
    #[arg(long, env = "READOUT_MAX_BODY_BYTES", global = true)]
    max_body_bytes: Option<usize>,
    /// Agent request bytes held at once before cycles get 503 (bounds memory).
    #[arg(long, env = "READOUT_MAX_INFLIGHT_BYTES", global = true)]
    max_inflight_bytes: Option<usize>,
    /// Open connections at most (lowered to fit the open-files limit).
    #[arg(long, env = "READOUT_MAX_CONNECTIONS", global = true)]
    max_connections: Option<usize>,
    /// Seconds a connection may take to send a request's headers, or sit idle.
    #[arg(long, env = "READOUT_HEADER_TIMEOUT_SECS", global = true)]
    header_timeout_secs: Option<u32>,
    #[arg(long, env = "READOUT_HISTORY_DAYS", global = true)]
    history_days: Option<u32>,
    #[arg(long, env = "READOUT_POINTS_DAYS", global = true)]
    points_days: Option<u32>,
    #[arg(long, env = "READOUT_ROLLUPS_DAYS", global = true)]
    rollups_days: Option<u32>,
    #[arg(long, env = "READOUT_COMPACT_SETTLE_SECS", global = true)]
    compact_settle_secs: Option<u32>,
    #[arg(long, env = "READOUT_AGENT_BINARY", global = true)]
    agent_binary: Option<PathBuf>,
}

impl ConfigArgs {
    fn load(self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = self.$field { config.$field = v; } )* };
        }
        set!(
            listen,
            data_dir,
            database_url,
            public_url,
            admin_token,
            max_body_bytes,
            max_inflight_bytes,
            max_connections,
            header_timeout_secs,
            history_days,
            points_days,
            rollups_days,
            compact_settle_secs
        );
        if self.tls_cert.is_some() {
            config.tls_cert = self.tls_cert;
        }
        if self.tls_key.is_some() {
            config.tls_key = self.tls_key;
        }
        if self.agent_binary.is_some() {
            config.agent_binary = self.agent_binary;
        }
        config.validate().context("invalid configuration")?;
        Ok(config)
    }
}

struct Serve(Config);

impl StoreTask for Serve {
    type Output = ();
    async fn run<D: Database>(self, db: D) -> anyhow::Result<()> {
        let on_ready = |addr| {
            readout_server::say(&format!("readout listening on {addr}"));
            tracing::info!(%addr, "listening");
        };
        readout_server::serve::serve(db, &self.0, on_ready, shutdown_signal()).await
    }
}

struct Hosts {
    config: Config,
    command: HostCommand,
}

impl StoreTask for Hosts {
    type Output = ();
    async fn run<D: Database>(self, db: D) -> anyhow::Result<()> {
        match self.command {
            HostCommand::Add { name, json } => {
                let added = readout_server::hosts::add(
                    &Actor::Operator,
                    &db,
                    &name,
                    &self.config.public_url(),
                )
                .await
                .map_err(|e| anyhow::anyhow!("cannot add host {name:?}: {e}"))?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&added)?);
                } else {
                    println!(
                        "Host {:?} added.\n  host id: {}\n  API key: {}  (shown once: only its hash is kept)\n\n\
                         Install the agent on that machine, as root:\n  {}",
                        added.host.name, added.host.id, added.api_key, added.install_command
                    );
                }
            }
            HostCommand::Remove { name } => {
                let host = match db.host(&name).await {
                    Ok(host) => host,
                    Err(readout_storage::DbError::NotFound) => {
                        db.host_by_name(&name).await.map_err(|e| match e {
                            readout_storage::DbError::NotFound => {
                                anyhow::anyhow!("no host named {name:?}")
                            }
                            other => anyhow::anyhow!("{other}"),
                        })?
                    }
                    Err(e) => return Err(e.into()),
                };
                db.remove_host(&host.id, readout_server::now_ms()).await?;
                println!(
                    "Host {name:?} ({}) removed: its agent stops on its next cycle.",
                    host.id
                );
            }
            HostCommand::List => {
                for h in db.list_hosts().await? {
                    let state = if h.removed_at_ms.is_some() {
                        "removed"
                    } else {
                        "active"
                    };
                    println!(
                        "{}\t{}\t{state}\tagent {}",
                        h.id,
                        h.name,
                        h.agent_version.as_deref().unwrap_or("-")
                    );
                }
            }
        }
        Ok(())
    }
}

struct Users(UserCommand);

impl StoreTask for Users {
    type Output = ();
    async fn run<D: Database>(self, db: D) -> anyhow::Result<()> {
        let UserCommand::Add {
            email,
            name,
            role,
            workspace,
            new_workspace,
        } = self.0;
        use readout_server::web::accounts;
        let mut password = String::new();
        std::io::stdin()
            .read_line(&mut password)
            .context("reading the password from standard input")?;
        let password = password.trim_end_matches(['\r', '\n']);
        let owner = !db.set_up().await?;
        let named = |flag: &str, name: &str| {
            readout_app::Name::parse(name).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
        };
        let joining = if owner {
            accounts::first_owner(&named("--workspace", &workspace)?)?
        } else if let Some(name) = &new_workspace {
            accounts::new_workspace(&named("--new-workspace", name)?)?
        } else {
            let role: readout_storage::Role =
                role.parse().map_err(|e| anyhow::anyhow!("--role: {e}"))?;
            if role == readout_storage::Role::Owner {
                anyhow::bail!("--role: the workspace has its owner; pick admin, editor or viewer");
            }
            accounts::member(role)
        };
        let signup = accounts::Signup {
            email: &email,
            name: &name,
            password,
        };
        let user = accounts::add_user(&db, &accounts::PasswordGate::new()?, &signup, joining)
            .await
            .map_err(|e| anyhow::anyhow!("cannot add {email:?}: {e}"))?;
        if owner {
            println!(
                "Owner {} added, with the workspace {:?}.",
                user.email,
                workspace.trim()
            );
        } else if let Some(name) = &new_workspace {
            println!(
                "User {} added, owner of the new workspace {:?}.",
                user.email,
                name.trim()
            );
        } else {
            println!("User {} added as {role}.", user.email);
        }
        Ok(())
    }
}

fn main() -> std::process::ExitCode {
    // Everything this process writes (the database and its journal, the
    // admin token, the demo agent's key) is its owner's only.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    // Blocking threads parse cycles, CPU work: more of them than cores only
    // adds memory (each thread's heap) and contention; cycles queue instead.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(readout_server::work::cores() * 2)
        .build();
    let result = match runtime {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => Err(anyhow::Error::new(e).context("cannot start the async runtime")),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("readout: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("READOUT_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => {
            let config = args.load()?;
            with_store(&config.database_url(), Serve(config.clone())).await
        }
        Command::Demo(args) => {
            let config = args.load()?;
            let agent_binary = std::env::current_exe()?.with_file_name("readout-agent");
            if !agent_binary.exists() {
                anyhow::bail!(
                    "the demo runs the agent at {}, which is missing: build it with `cargo build --release --workspace`",
                    agent_binary.display()
                );
            }
            with_store(
                &config.database_url(),
                Demo {
                    config: config.clone(),
                    agent_binary,
                },
            )
            .await
        }
        Command::Host { config, command } => {
            let config = config.load()?;
            with_store(
                &config.database_url(),
                Hosts {
                    config: config.clone(),
                    command,
                },
            )
            .await
        }
        Command::User { config, command } => {
            let config = config.load()?;
            with_store(&config.database_url(), Users(command)).await
        }
        Command::Parse(args) => parse(&args),
        Command::Config {
            command: ConfigCommand::Default,
        } => {
            print!("{}", Config::default_toml());
            Ok(())
        }
    }
}

fn parse(args: &ParseArgs) -> anyhow::Result<()> {
    use readout_parse::extract::ParserConfig;
    use readout_parse::presets;
    if args.list_presets {
        for p in presets::all() {
            println!("{}  ({})\n  {}", p.name, p.command, p.about);
            for (name, unit, about) in p.variables {
                println!("    {name:<24} {unit:<9} {about}");
            }
        }
        return Ok(());
    }
    let config = match &args.parser_config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            ParserConfig::from_json(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => {
            let name = args.preset.clone().unwrap_or_default();
            if presets::find(&name).is_none() {
                let known: Vec<&str> = presets::all().iter().map(|p| p.name).collect();
                anyhow::bail!("unknown preset {name:?}; presets: {}", known.join(", "));
            }
            ParserConfig {
                preset: Some(name),
                ..ParserConfig::default()
            }
        }
    };
    let bytes = match args.file.as_deref() {
        None => read_stdin()?,
        Some(path) if path.as_os_str() == "-" => read_stdin()?,
        Some(path) => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
        }
    };
    let output = String::from_utf8_lossy(&bytes);
    let preset_command = config
        .preset
        .as_deref()
        .and_then(presets::find)
        .map_or("", |p| p.command);
    let command = args.command.as_deref().unwrap_or(preset_command);
    let values = config.extract(readout_parse::Input {
        command,
        output: &output,
        exit_code: args.exit_code,
    })?;
    println!("{}", serde_json::to_string_pretty(&values)?);
    Ok(())
}

fn read_stdin() -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("cannot read standard input")?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
