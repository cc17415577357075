//! The fake Kubernetes API server of the tests, serving a fixture scenario until killed, for the
//! portal's end-to-end test and for trying the instances page without a cluster:
//!
//! ```sh
//! cargo run -p tollgate-cluster --example fake-apiserver -- --scenario incident --kubeconfig /tmp/kc
//! KUBECONFIG=/tmp/kc tollgate serve
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/it/fake.rs"]
mod fake;

use std::io::Write as _;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut listen = "127.0.0.1:0".to_owned();
    let mut scenario = "incident".to_owned();
    let mut kubeconfig = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen = args.next().expect("--listen ADDR"),
            "--scenario" => scenario = args.next().expect("--scenario incident|fixed"),
            "--kubeconfig" => kubeconfig = Some(args.next().expect("--kubeconfig PATH")),
            other => {
                eprintln!(
                    "unknown argument {other}; use --listen ADDR --scenario incident|fixed --kubeconfig PATH"
                );
                std::process::exit(2);
            }
        }
    }
    let objects = match scenario.as_str() {
        "incident" => tollgate_cluster::fixtures::incident(),
        "fixed" => tollgate_cluster::fixtures::incident_fixed(),
        other => {
            eprintln!("unknown scenario {other}: incident or fixed");
            std::process::exit(2);
        }
    };
    let api = fake::FakeApi::start_on(&listen, &objects).await;
    if let Some(path) = kubeconfig {
        std::fs::write(&path, api.kubeconfig(tollgate_cluster::fixtures::NAMESPACE)).unwrap();
    }
    println!("fake Kubernetes API server ({scenario}) at {}", api.url);
    std::io::stdout().flush().unwrap();
    let _ = tokio::signal::ctrl_c().await;
}
