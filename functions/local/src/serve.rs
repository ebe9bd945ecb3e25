//! `badges serve`: every router, the queue workers and the schedules in one process, on the
//! embedded adapters (SQLite, files, a local key file, a SQLite-backed queue).
//!
//! Configuration is read once, here, from flags or the environment; a bad value stops
//! start-up with a one-line reason. [`start`] takes the listener from the caller (port 0 in
//! tests) and returns a handle that shuts the server down cleanly.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use platform::ports::QueueName;
use platform::{App, Settings};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// `badges serve` flags; each has an environment variable too.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Where the database, keys and master key live.
    #[arg(long, env = "BADGES_DATA_DIR", default_value = "./badges-data")]
    pub data_dir: PathBuf,
    /// The address to listen on.
    #[arg(long, env = "BADGES_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The public base URL, used in credential ids, did:web ids and links
    /// [default: http:// + the listen address].
    #[arg(long, env = "BADGES_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Let webhooks target loopback, private and link-local addresses (tests, labs).
    #[arg(long, env = "BADGES_ALLOW_INTERNAL_WEBHOOKS")]
    pub allow_internal_webhooks: bool,
    /// First retry delay of a failed webhook delivery, in milliseconds (doubles each time).
    #[arg(long, env = "BADGES_WEBHOOK_BACKOFF_MS", default_value_t = 5000)]
    pub webhook_backoff_ms: u64,
    /// How often the expiry schedule runs, in seconds.
    #[arg(long, env = "BADGES_EXPIRY_INTERVAL_SECS", default_value_t = 60)]
    pub expiry_interval_secs: u64,
    /// Requests a minute per client address on the public routes (0: no limit).
    #[arg(long, env = "BADGES_RATE_LIMIT_PUBLIC", default_value_t = 600)]
    pub rate_limit_public: u32,
    /// Requests a minute per API key (0: no limit).
    #[arg(long, env = "BADGES_RATE_LIMIT_API_KEY", default_value_t = 1200)]
    pub rate_limit_api_key: u32,
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub public_url: Option<url::Url>,
    /// `BADGES_BOOTSTRAP_TOKEN`: the owner API key to create on an empty store (never a flag,
    /// so it does not show in the process list).
    pub bootstrap_token: Option<String>,
    pub allow_internal_webhooks: bool,
    pub webhook_backoff: Duration,
    pub expiry_interval: Duration,
    /// Requests a minute per client address (public routes) and per API key.
    pub rate_limits: platform::RateLimits,
}

impl ServeArgs {
    /// Checks the flags and reads the bootstrap token from the environment.
    pub fn into_config(self) -> Result<Config> {
        let public_url = self.public_url.as_deref().map(parse_public_url).transpose()?;
        if self.expiry_interval_secs == 0 {
            bail!("--expiry-interval-secs must be at least 1");
        }
        let bootstrap_token =
            std::env::var("BADGES_BOOTSTRAP_TOKEN").ok().filter(|t| !t.is_empty());
        Ok(Config {
            data_dir: self.data_dir,
            listen: self.listen,
            public_url,
            bootstrap_token,
            allow_internal_webhooks: self.allow_internal_webhooks,
            webhook_backoff: Duration::from_millis(self.webhook_backoff_ms),
            expiry_interval: Duration::from_secs(self.expiry_interval_secs),
            rate_limits: platform::RateLimits {
                public_per_minute: self.rate_limit_public,
                api_key_per_minute: self.rate_limit_api_key,
            },
        })
    }
}

fn parse_public_url(text: &str) -> Result<url::Url> {
    let url = url::Url::parse(text)
        .with_context(|| format!("BADGES_PUBLIC_URL `{text}` is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("BADGES_PUBLIC_URL `{text}` must be an http(s) URL with a host");
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        bail!(
            "BADGES_PUBLIC_URL `{text}` must have no path, query or fragment (did:web ids are derived from it)"
        );
    }
    Ok(url)
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The public base URL it uses.
    pub public_url: url::Url,
    /// The owner API key when this start generated one (empty store, no bootstrap token).
    pub generated_token: Option<String>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    http: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Stops accepting, lets workers finish their current unit, and waits for everything.
    pub async fn shutdown(self) -> Result<()> {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        self.http.await.context("HTTP server task")?.context("HTTP server")
    }

    /// Waits until the HTTP server ends (on the shutdown signal).
    pub async fn wait(self) -> Result<()> {
        let Self { stop, tasks, http, .. } = self;
        let result = http.await.context("HTTP server task")?.context("HTTP server");
        let _ = stop.send(true);
        for task in tasks {
            let _ = task.await;
        }
        result
    }
}

/// Opens the data directory, bootstraps an empty store, and starts the HTTP server, the
/// queue workers and the schedules on `listener`.
pub async fn start(config: Config, listener: TcpListener) -> Result<Server> {
    let addr = listener.local_addr().context("listener address")?;
    let public_url = match &config.public_url {
        Some(url) => url.clone(),
        None => url::Url::parse(&format!("http://{addr}"))
            .context("public URL from the listen address")?,
    };
    let clock: Arc<dyn platform::ports::Clock> = Arc::new(embedded::SystemClock);
    let store = embedded::Embedded::open(&config.data_dir, clock)
        .with_context(|| format!("cannot open the data directory {}", config.data_dir.display()))?;
    let transport = Arc::new(platform_http::ReqwestTransport::new(
        config.allow_internal_webhooks,
        Duration::from_secs(10),
    )?);
    let mut settings = Settings::new(public_url.clone());
    settings.webhook_backoff = config.webhook_backoff;
    settings.allow_internal_webhooks = config.allow_internal_webhooks;
    settings.rate_limits = config.rate_limits;
    let app = App::new(store.ports(transport), settings);

    let generated_token = app
        .bootstrap(config.bootstrap_token.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("bootstrap: {e}"))?;
    if let Some(token) = &generated_token {
        let path = config.data_dir.join("bootstrap-token");
        crate::offline::write_private(&path, format!("{token}\n").as_bytes())?;
    }

    let (stop, stopped) = watch::channel(false);
    // Bulk issuance is CPU-bound (canonicalization and signing): one worker per core. Rows
    // are idempotent and recorded once, so workers never step on each other.
    let bulk_workers = std::thread::available_parallelism().map_or(1, usize::from);
    let mut tasks: Vec<JoinHandle<()>> = (0..bulk_workers)
        .map(|_| tokio::spawn(worker(app.clone(), QueueName::Bulk, stopped.clone())))
        .collect();
    tasks.extend([
        tokio::spawn(worker(app.clone(), QueueName::Webhooks, stopped.clone())),
        tokio::spawn(every(
            Duration::from_millis(250),
            stopped.clone(),
            app.clone(),
            |app| async move { app.dispatch_events(200).await.map(|_| ()) },
        )),
        tokio::spawn(every(
            config.expiry_interval,
            stopped.clone(),
            app.clone(),
            |app| async move {
                while app.expire_due(500).await? == 500 {}
                Ok(())
            },
        )),
    ]);
    let router = platform_http::router(app);
    let mut http_stopped = stopped;
    let http = tokio::spawn(async move {
        // The peer address goes into the audit log.
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = http_stopped.wait_for(|stop| *stop).await;
            })
            .await
    });
    Ok(Server { addr, public_url, generated_token, stop, tasks, http })
}

/// A queue consumer: works the queue until stopped, pausing briefly when it is empty.
async fn worker(app: App, queue: QueueName, mut stopped: watch::Receiver<bool>) {
    while !*stopped.borrow() {
        let pause = match app.work_queue(queue, 10, Duration::from_secs(120)).await {
            Ok(0) => Duration::from_millis(100),
            Ok(_) => Duration::ZERO,
            Err(error) => {
                tracing::error!(queue = queue.as_str(), error = %format!("{error:#}"), "queue worker");
                Duration::from_secs(1)
            }
        };
        if !pause.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stopped.changed() => {}
            }
        }
    }
}

/// A schedule: runs `job` every `interval` until stopped.
async fn every<F, Fut>(interval: Duration, mut stopped: watch::Receiver<bool>, app: App, job: F)
where
    F: Fn(App) -> Fut,
    Fut: std::future::Future<Output = platform::Result<()>>,
{
    while !*stopped.borrow() {
        if let Err(error) = job(app.clone()).await {
            tracing::error!(error = %format!("{error:#}"), "scheduled job");
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = stopped.changed() => {}
        }
    }
}

/// `badges serve` from the command line: logs, runtime, Ctrl-C / SIGTERM.
pub fn run_blocking(config: Config) -> Result<ExitCode> {
    init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let data_dir = config.data_dir.clone();
        let server = start(config, listener).await?;
        announce(&server, &data_dir);
        let stop = server.stop.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            let _ = stop.send(true);
        });
        server.wait().await
    })?;
    Ok(ExitCode::SUCCESS)
}

fn announce(server: &Server, data_dir: &Path) {
    tracing::info!(addr = %server.addr, public_url = %server.public_url, data_dir = %data_dir.display(), "badges is serving");
    if let Some(token) = &server.generated_token {
        // Printed once, on purpose, to the terminal of whoever started the server; it is also
        // in <data-dir>/bootstrap-token (mode 0600).
        eprintln!(
            "\nOwner API key (shown once; also saved to {}):\n\n    {token}\n",
            data_dir.join("bootstrap-token").display()
        );
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("BADGES_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_must_be_bare_http_origins() {
        parse_public_url("https://badges.example.com").unwrap();
        parse_public_url("http://127.0.0.1:8080/").unwrap();
        for bad in
            ["ftp://x.example", "https://x.example/base", "not a url", "https://x.example/?q=1"]
        {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }
}
