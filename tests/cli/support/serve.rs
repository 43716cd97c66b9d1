//! The plumbing the test proxies share (the S3 store proxy and the hostile API server): an
//! axum app served on `127.0.0.1:0` from a runtime of its own, and the client they forward with.

/// An app being served; it stops when dropped.
pub struct Served {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    _runtime: tokio::runtime::Runtime,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Served {
    /// Serves `app` on a free loopback port.
    pub fn start(app: axum::Router) -> Served {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        runtime.spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop.await;
                })
                .await
        });
        Served {
            endpoint,
            _runtime: runtime,
            _shutdown: shutdown,
        }
    }
}

/// A client that forwards as asked: no proxy from the environment, no redirect followed.
pub fn forwarding_client() -> reqwest::Client {
    // reqwest is built without a default TLS provider; an Err only means one is installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
