//! `faultline demo`: the command system on the bundled real network, with a fresh
//! event log in a temporary folder, listening on 127.0.0.1:8080 (or `--bind`).

use clap::Args;

use crate::config::ServeSettings;

/// Arguments of `faultline demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: String,
}

/// Run the demo until Ctrl-C.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("faultline-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let network =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("gis-data/bdgd_mux_energia.geojson");
    let network = if network.exists() {
        network
    } else {
        "gis-data/bdgd_mux_energia.geojson".into()
    };
    let settings = ServeSettings {
        network,
        db: dir.join("demo.db").to_string_lossy().into_owned(),
        bind: args.bind,
        max_body_bytes: 32 * 1024 * 1024,
        add_protection: false,
        set_aside_invalid: false,
        workers: None,
    };
    println!(
        "faultline demo: the real BDGD network (Mux Energia, 13,340 customers), event log in {}",
        dir.display()
    );
    let result = crate::serve::run(settings).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}
