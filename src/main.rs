//! The `declare` command line: serve (the default), migrate, print the OpenAPI document.

use clap::{Parser, Subcommand};

use declare::config::Config;
use declare::startup::Application;
use declare::store::Database;

#[derive(Parser)]
#[command(
    name = "declare",
    version,
    about = "Voluntary, consented, anonymised equality monitoring"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (the default). Migrations are applied first.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document generated from the code.
    Openapi {
        #[arg(long, value_enum, default_value = "yaml")]
        format: SpecFormat,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SpecFormat {
    Yaml,
    Json,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi { format } => {
            let spec = declare::http::openapi();
            let text = match format {
                SpecFormat::Yaml => spec.to_yaml()?,
                SpecFormat::Json => spec.to_pretty_json()?,
            };
            print!("{text}");
            Ok(())
        }
        Command::Migrate => {
            let config = Config::from_env()?;
            declare::telemetry::init(config.log_format, &config.log_level);
            let db = Database::connect(&config.database_url, 1)?;
            let applied = db.migrate()?;
            println!("applied {} migration(s)", applied.len());
            for version in applied {
                println!("  {version}");
            }
            Ok(())
        }
        Command::Serve => {
            let config = Config::from_env()?;
            declare::telemetry::init(config.log_format, &config.log_level);
            let listen = config.listen;
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(config)?;
                tracing::info!(%listen, port = app.port(), "declare is serving");
                app.run_until_stopped().await?;
                Ok(())
            })
        }
    }
}
