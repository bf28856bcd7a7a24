//! `heapsight mcp` driven by a real client: the official MCP Python SDK (`mcp` on PyPI) over
//! stdio, from `tests/mcp_client/drive.py` (what it checks is listed there). The SDK is
//! installed once under `target/` (a venv, or a pip `--target` folder without the venv module);
//! without python3 or pip the test is skipped (with a message), unless `CI` is set.
#![cfg(feature = "mcp")]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The SDK version the client script is written against.
const MCP_SDK: &str = "mcp==2.3.0";

#[test]
fn official_python_client_drives_every_tool() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mcp-client");
    let mut python = match python_with_sdk(repo) {
        Ok(p) => p,
        Err(why) if std::env::var_os("CI").is_none() => {
            println!("skipped: {why}");
            return;
        }
        Err(why) => panic!("the MCP client test needs python3 with pip on CI: {why}"),
    };
    let out = python
        .arg(repo.join("tests/mcp_client/drive.py"))
        .arg(env!("CARGO_BIN_EXE_heapsight"))
        .arg(repo)
        .arg(&work)
        .output()
        .expect("run the client script");
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the MCP client's checks failed:\n{log}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // On success one line: how many checks passed.
    let passed = log.lines().filter(|l| l.starts_with("ok ")).count();
    println!("{passed} checks passed");
}

/// A python that can import the SDK: the venv's under `target/` (created on first use), else,
/// where `python3 -m venv` is missing (Debian without python3-venv), the system python3 with
/// the SDK pip-installed into a folder under `target/` on its `PYTHONPATH`.
fn python_with_sdk(repo: &Path) -> Result<Command, String> {
    let venv = repo.join("target/mcp-venv");
    let venv_python = venv.join("bin/python");
    let pydeps = repo.join("target/mcp-pydeps");
    let with_sdk = |python: &Path, path: Option<&Path>| {
        let mut c = Command::new(python);
        if let Some(p) = path {
            c.env("PYTHONPATH", p);
        }
        c
    };
    let imports_sdk = |mut c: Command| {
        c.args(["-c", "import mcp.client.stdio"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if venv_python.exists() && imports_sdk(with_sdk(&venv_python, None)) {
        return Ok(with_sdk(&venv_python, None));
    }
    let system = Path::new("python3");
    if pydeps.exists() && imports_sdk(with_sdk(system, Some(&pydeps))) {
        return Ok(with_sdk(system, Some(&pydeps)));
    }
    let made_venv = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .map_err(|e| format!("python3 is not available ({e})"))?
        .status
        .success();
    let (mut pip, python, path) = if made_venv {
        (
            Command::new(venv.join("bin/pip")),
            venv_python.as_path(),
            None,
        )
    } else {
        (Command::new("python3"), system, Some(pydeps.as_path()))
    };
    if !made_venv {
        pip.args(["-m", "pip"]);
    }
    pip.args(["install", "-q", MCP_SDK]);
    if let Some(dir) = path {
        pip.arg("--target").arg(dir);
    }
    let installed = pip
        .status()
        .map_err(|e| format!("pip is not available ({e})"))?;
    if !installed.success() || !imports_sdk(with_sdk(python, path)) {
        return Err(format!("pip install {MCP_SDK} failed"));
    }
    Ok(with_sdk(python, path))
}
