//! Real services a test can start, stop or cut: a fresh Postgres database, a TCP proxy that
//! can cut a connection the way a network partition or a stopped server does, and a private
//! redis-server process.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An empty database on the test Postgres server, dropped at the end.
pub struct PgDb {
    pub url: String,
    name: String,
    admin: String,
}

pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

impl PgDb {
    pub fn create() -> PgDb {
        let admin = admin_url();
        let name = format!("tollgate_gw_{}", uuid::Uuid::now_v7().simple());
        let ok = Command::new("psql")
            .args([admin.as_str(), "-qc", &format!("CREATE DATABASE {name}")])
            .status()
            .expect("psql must be installed")
            .success();
        assert!(ok, "cannot create a database on {admin}");
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        PgDb {
            url: format!("{base}/{name}"),
            name,
            admin,
        }
    }

    /// The same database reached through `port` (a proxy) instead.
    pub fn url_via(&self, port: u16) -> String {
        let rest = self.url.split_once('@').map_or("", |(_, r)| r);
        let path = rest.split_once('/').map_or("", |(_, p)| p);
        format!("postgres://postgres@127.0.0.1:{port}/{path}")
    }

    pub fn addr(&self) -> SocketAddr {
        let rest = self.url.split_once('@').map_or("", |(_, r)| r);
        let host = rest.split_once('/').map_or(rest, |(h, _)| h);
        host.parse().unwrap()
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                self.admin.as_str(),
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A TCP forwarder: `cut` closes every open connection and refuses new ones until `restore`.
pub struct Proxy {
    pub port: u16,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (up2, conns2) = (up.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                conns2.lock().unwrap().push(task);
            }
        });
        Proxy {
            port,
            up,
            conns,
            accept,
        }
    }

    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for t in self.conns.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

/// A redis-server of this test's own, on a free port, with nothing kept on disk.
pub struct OwnRedis {
    pub port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    pub async fn start() -> OwnRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = OwnRedis { port, child: None };
        r.restart().await;
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub async fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/install-deps.sh)");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
