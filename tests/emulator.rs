//! A local AWS emulator for the AWS adapters' tests: `ministack` (pinned below) from PyPI,
//! installed into a virtual environment under `$HOME/.cache/badges-tools` on first use and
//! started once per test process on a free loopback port, with only the services the
//! platform uses. It stops when the test process ends (a watchdog in the emulator's process
//! exits when its parent is gone), so no test leaves it running.
//!
//! Tests never share resources: each provisions its own table, bucket, queues and keys
//! under a unique prefix (`platform_aws::provision`).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// The emulator and its version, installed from PyPI, with `cryptography`, which it needs for
/// Ed25519 keys in KMS.
pub const EMULATOR_PACKAGES: [&str; 2] = ["ministack==1.5.33", "cryptography==48.0.0"];

/// The services the platform uses.
const SERVICES: &str = "dynamodb,s3,kms,sqs";

/// A running emulator.
#[derive(Debug)]
pub struct Emulator {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    _child: Mutex<Child>,
}

static SHARED: OnceLock<Result<Emulator, String>> = OnceLock::new();

/// The emulator of this test process, installed and started on first use.
pub fn shared() -> anyhow::Result<&'static Emulator> {
    SHARED
        .get_or_init(|| Emulator::start().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| anyhow::anyhow!("the AWS emulator did not start: {e}"))
}

impl Emulator {
    fn start() -> anyhow::Result<Self> {
        let python = install()?;
        let port = free_port()?;
        // The watchdog ends the emulator as soon as the test process (its parent) is gone.
        let script = "import os, sys, threading, time\n\
            parent = os.getppid()\n\
            def watch():\n\
            \x20   while os.getppid() == parent:\n\
            \x20       time.sleep(0.5)\n\
            \x20   os._exit(0)\n\
            threading.Thread(target=watch, daemon=True).start()\n\
            sys.argv = ['ministack']\n\
            from ministack.app import main\n\
            main()\n";
        let log_dir = std::env::temp_dir().join(format!("badges-emulator-{port}"));
        std::fs::create_dir_all(&log_dir)?;
        let log = std::fs::File::create(log_dir.join("emulator.log"))?;
        let child = Command::new(&python)
            .arg("-c")
            .arg(script)
            .current_dir(&log_dir)
            .env("SERVICES", SERVICES)
            .env("BIND_HOST", "127.0.0.1")
            .env("GATEWAY_PORT", port.to_string())
            .env("MINISTACK_REGION", "eu-central-1")
            .env("LOG_LEVEL", "WARNING")
            .env("TMPDIR", &log_dir)
            .env("S3_DATA_DIR", log_dir.join("s3"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", python.display()))?;
        let emulator =
            Self { endpoint: format!("http://127.0.0.1:{port}"), _child: Mutex::new(child) };
        wait_healthy(port, Duration::from_secs(60))
            .with_context(|| format!("see {}", log_dir.join("emulator.log").display()))?;
        Ok(emulator)
    }

    /// SDK settings for the emulator: its endpoint, an EU region, static test credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-central-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_credential_types::Credentials::new(
                "test", "test", None, None, "emulator",
            ))
            .load()
            .await
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Ok(mut child) = self._child.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The emulator's Python, installing it first if needed.
fn install() -> anyhow::Result<PathBuf> {
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    let tools = Path::new(&home).join(".cache/badges-tools");
    let venv = tools.join("emu");
    let python = venv.join("bin/python");
    let marker = venv.join(format!(".installed-{}", EMULATOR_PACKAGES.join("-")));
    if marker.exists() {
        return Ok(python);
    }
    std::fs::create_dir_all(&tools)?;
    // One installer at a time across test processes.
    let lock = tools.join("emu.lock");
    let started = Instant::now();
    while std::fs::create_dir(&lock).is_err() {
        if marker.exists() {
            return Ok(python);
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("waited 10 minutes for {} to go away", lock.display());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let result = (|| -> anyhow::Result<()> {
        if !python.exists() {
            run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        }
        run(Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet"])
            .args(EMULATOR_PACKAGES))?;
        std::fs::write(&marker, b"")?;
        Ok(())
    })();
    let _ = std::fs::remove_dir(&lock);
    result.with_context(|| format!("installing {EMULATOR_PACKAGES:?} into {}", venv.display()))?;
    Ok(python)
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command.output().with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!("{command:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_healthy(port: u16, timeout: Duration) -> anyhow::Result<()> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    loop {
        if let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(500)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let request = "GET /_ministack/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
            let mut reply = String::new();
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_to_string(&mut reply).is_ok()
                && reply.starts_with("HTTP/1.1 200")
            {
                return Ok(());
            }
        }
        if started.elapsed() > timeout {
            bail!("the emulator did not answer on port {port} within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
