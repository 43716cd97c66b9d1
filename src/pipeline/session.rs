//! A config connected to its API: the client, and for `[cloud] simulator` the in-process
//! simulator it talks to over loopback. The simulator's changes are saved beside the state
//! file when the session ends, so plan → apply → plan works across runs.

use std::path::{Path, PathBuf};

use anyhow::Context;
use tokio::sync::oneshot;

use crate::config::{ClientSettings, Config, Target};
use crate::error::Error;
use crate::simulator::{Simulator, SimulatorOptions};
use crate::workspace::client::cloud_endpoint;
use crate::workspace::{Auth, Client, ClientOptions, Secret};

pub struct Session {
    pub config: Config,
    pub client: Client,
    simulator: Option<InProcess>,
}

struct InProcess {
    simulator: Simulator,
    saved_to: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
}

/// Where the in-process simulator keeps its world: `deskprune.state.simulator.json` for
/// `deskprune.state.json`.
pub fn simulator_path(state_path: &Path) -> PathBuf {
    state_path.with_extension("simulator.json")
}

impl Session {
    pub async fn open(config: Config, state_path: &Path) -> Result<Session, Error> {
        let project_id = config.cloud.project_id.clone();
        let (endpoint, auth, simulator) = match &config.cloud.target {
            Target::Cloud => (
                cloud_endpoint(&config.cloud.region),
                Auth::from_env()?,
                None,
            ),
            Target::Endpoint(url) => (url.clone(), Auth::from_env()?, None),
            Target::Simulator(inventory) => {
                let (endpoint, auth, simulator) =
                    start_simulator(inventory, state_path, &project_id).await?;
                (endpoint, auth, Some(simulator))
            }
        };
        let client = Client::new(
            &endpoint,
            &project_id,
            auth,
            &ClientOptions::from(&config.client),
        )?;
        Ok(Session {
            config,
            client,
            simulator,
        })
    }

    /// Saves the in-process simulator's world, if there is one; hands back the config.
    pub fn close(mut self) -> Result<Config, Error> {
        if let Some(mut simulator) = self.simulator.take() {
            if let Some(shutdown) = simulator.shutdown.take() {
                let _ = shutdown.send(());
            }
            let json = serde_json::to_vec_pretty(&simulator.simulator.snapshot())
                .context("cannot serialise the simulator's state")?;
            crate::atomic_file::write(&simulator.saved_to, &json).with_context(|| {
                format!(
                    "cannot save the simulator's state to `{}`",
                    simulator.saved_to.display()
                )
            })?;
        }
        Ok(self.config)
    }
}

/// The client's options, from the config's `[client]`.
impl From<&ClientSettings> for ClientOptions {
    fn from(settings: &ClientSettings) -> Self {
        ClientOptions {
            timeout: settings.timeout,
            max_retries: settings.max_retries,
            requests_per_second: settings.requests_per_second,
            max_concurrency: settings.max_concurrency,
        }
    }
}

/// Starts the simulator on `127.0.0.1:0`, seeded from its saved world or else from the
/// inventory file, with a fresh key pair that only this process knows.
async fn start_simulator(
    inventory: &Path,
    state_path: &Path,
    project_id: &str,
) -> Result<(String, Auth, InProcess), Error> {
    let access_key = format!("SIM{}", uuid::Uuid::new_v4().simple()).to_uppercase();
    let secret_key = uuid::Uuid::new_v4().simple().to_string();
    let options = SimulatorOptions {
        project_id: project_id.to_string(),
        access_key: Some(access_key.clone()),
        secret_key: Some(secret_key.clone()),
        ..SimulatorOptions::default()
    };
    let saved_to = simulator_path(state_path);
    let simulator = match std::fs::read(&saved_to) {
        Ok(bytes) => {
            let snapshot = serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "the simulator's saved state `{}` is malformed: delete it to start again from `{}`",
                    saved_to.display(),
                    inventory.display()
                )
            })?;
            Simulator::from_snapshot(options, snapshot)
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            Simulator::new(options, crate::simulator::read_inventory(inventory)?)
        }
        Err(err) => {
            return Err(anyhow::Error::from(err)
                .context(format!("cannot read `{}`", saved_to.display()))
                .into());
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot start the simulator on 127.0.0.1")?;
    let address = listener.local_addr().context("no local address")?;
    let (shutdown, stop) = oneshot::channel();
    tokio::spawn(simulator.clone().serve(listener, async {
        let _ = stop.await;
    }));
    let auth = Auth::AccessKey {
        access_key,
        secret_key: Secret::new(secret_key),
        security_token: None,
    };
    Ok((
        format!("http://{address}"),
        auth,
        InProcess {
            simulator,
            saved_to,
            shutdown: Some(shutdown),
        },
    ))
}
