//! `heapsight mcp` driven by a real client: the official MCP Python SDK (`mcp` on PyPI) over
//! stdio, from `tests/mcp_client/drive.py` (what it checks is listed there). The SDK is
//! installed once into a venv under `target/`; without python3 or pip the test is skipped
//! (with a message), unless `CI` is set.
#![cfg(feature = "mcp")]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The SDK version the client script is written against.
const MCP_SDK: &str = "mcp==2.3.0";

#[test]
fn official_python_client_drives_every_tool() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mcp-client");
    let python = match venv_python(repo) {
        Ok(p) => p,
        Err(why) if std::env::var_os("CI").is_none() => {
            println!("skipped: {why}");
            return;
        }
        Err(why) => panic!("the MCP client test needs python3 with pip on CI: {why}"),
    };
    let status = Command::new(python)
        .arg(repo.join("tests/mcp_client/drive.py"))
        .arg(env!("CARGO_BIN_EXE_heapsight"))
        .arg(repo)
        .arg(&work)
        .status()
        .expect("run the client script");
    assert!(
        status.success(),
        "the MCP client's checks failed (see its output above)"
    );
}

/// The venv's python with the SDK installed, creating the venv on first use.
fn venv_python(repo: &Path) -> Result<PathBuf, String> {
    let venv = repo.join("target/mcp-venv");
    let python = venv.join("bin/python");
    let has_sdk = |p: &Path| {
        Command::new(p)
            .args(["-c", "import mcp.client.stdio"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if python.exists() && has_sdk(&python) {
        return Ok(python);
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|e| format!("python3 is not available ({e})"))?;
    if !made.success() {
        return Err("python3 -m venv failed (is the venv module installed?)".into());
    }
    let installed = Command::new(venv.join("bin/pip"))
        .args(["install", "-q", MCP_SDK])
        .status()
        .map_err(|e| format!("pip is not available ({e})"))?;
    if !installed.success() || !has_sdk(&python) {
        return Err(format!("pip install {MCP_SDK} failed"));
    }
    Ok(python)
}
