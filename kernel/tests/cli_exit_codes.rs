//! The binary's exit codes: a missing or invalid connection file and bad usage give 2 with a
//! message; install writes the kernelspec (issue 10, behaviours 6 and 7).

use std::process::Command;

fn kernel() -> Command {
    Command::new(env!("CARGO_BIN_EXE_async-kernel"))
}

// BEHAVIOUR KX1: a missing connection file: exit code 2 and a clear message.
#[test]
fn missing_connection_file() {
    let out = kernel()
        .args(["-f", "/nonexistent/kernel.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read connection file /nonexistent/kernel.json"),
        "{err}"
    );
}

// BEHAVIOUR KX1: an invalid one too.
#[test]
fn invalid_connection_file() {
    let dir = std::env::temp_dir().join(format!("ak-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.json");
    std::fs::write(&file, r#"{"transport": "tcp"}"#).unwrap();
    let out = kernel().arg("-f").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid connection file"));
    let out = kernel().arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(dir).unwrap();
}

// BEHAVIOUR KX2: install --prefix writes kernel.json with this binary's absolute path.
#[test]
fn install_under_a_prefix() {
    let dir = std::env::temp_dir().join(format!("ak-install-{}", std::process::id()));
    let out = kernel()
        .arg("install")
        .arg("--prefix")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let spec = dir.join("share/jupyter/kernels/async-kernel-lua/kernel.json");
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(spec).unwrap()).unwrap();
    let argv0 = spec["argv"][0].as_str().unwrap();
    assert!(std::path::Path::new(argv0).is_absolute(), "{argv0}");
    assert_eq!(spec["display_name"], "Lua 5.4 (async-kernel)");
    std::fs::remove_dir_all(dir).unwrap();
}
