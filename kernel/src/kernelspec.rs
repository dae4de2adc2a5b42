//! `async-kernel install`: writes the kernelspec `async-kernel-lua` where Jupyter looks for
//! kernels.

use std::path::{Path, PathBuf};

use serde_json::json;

/// The kernelspec's name (its directory).
pub const KERNEL_NAME: &str = "async-kernel-lua";

/// Where to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallTarget {
    /// The user's Jupyter data directory (`$JUPYTER_DATA_DIR`, else `~/.local/share/jupyter`,
    /// or `~/Library/Jupyter` on macOS).
    User,
    /// The active virtual environment or conda prefix (`$VIRTUAL_ENV`, `$CONDA_PREFIX`).
    SysPrefix,
    /// `<DIR>/share/jupyter`.
    Prefix(PathBuf),
}

/// Why the kernelspec could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// No directory to install to could be found.
    #[error("{0}")]
    NoDirectory(&'static str),
    /// Writing failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// What was written.
        path: PathBuf,
        /// The reason.
        #[source]
        source: std::io::Error,
    },
}

impl InstallTarget {
    /// Parses the install options (`--user`, `--sys-prefix`, `--prefix DIR`); none means
    /// `--user`.
    ///
    /// # Errors
    /// A message naming the argument that is not understood.
    pub fn from_args(args: &[String]) -> Result<InstallTarget, String> {
        match args {
            [] => Ok(InstallTarget::User),
            [flag] if flag == "--user" => Ok(InstallTarget::User),
            [flag] if flag == "--sys-prefix" => Ok(InstallTarget::SysPrefix),
            [flag, dir] if flag == "--prefix" => Ok(InstallTarget::Prefix(PathBuf::from(dir))),
            [flag] if flag.starts_with("--prefix=") => Ok(InstallTarget::Prefix(PathBuf::from(
                &flag["--prefix=".len()..],
            ))),
            other => Err(format!(
                "install takes --user, --sys-prefix or --prefix DIR, not {:?}",
                other.join(" ")
            )),
        }
    }

    /// The `kernels` directory of this target.
    ///
    /// # Errors
    /// [`InstallError::NoDirectory`] when the environment does not say where that is.
    pub fn kernels_dir(&self) -> Result<PathBuf, InstallError> {
        let data = match self {
            InstallTarget::User => match std::env::var_os("JUPYTER_DATA_DIR") {
                Some(dir) => PathBuf::from(dir),
                None => {
                    let home = std::env::var_os("HOME")
                        .ok_or(InstallError::NoDirectory("HOME is not set"))?;
                    if cfg!(target_os = "macos") {
                        Path::new(&home).join("Library/Jupyter")
                    } else {
                        match std::env::var_os("XDG_DATA_HOME") {
                            Some(xdg) => Path::new(&xdg).join("jupyter"),
                            None => Path::new(&home).join(".local/share/jupyter"),
                        }
                    }
                }
            },
            InstallTarget::SysPrefix => {
                let prefix = std::env::var_os("VIRTUAL_ENV")
                    .or_else(|| std::env::var_os("CONDA_PREFIX"))
                    .ok_or(InstallError::NoDirectory(
                        "--sys-prefix needs an active environment (VIRTUAL_ENV or CONDA_PREFIX)",
                    ))?;
                Path::new(&prefix).join("share/jupyter")
            }
            InstallTarget::Prefix(dir) => dir.join("share/jupyter"),
        };
        Ok(data.join("kernels"))
    }
}

/// The `kernel.json` for a kernel binary at `executable`.
pub fn kernel_json(executable: &Path) -> serde_json::Value {
    json!({
        "argv": [executable.to_string_lossy(), "-f", "{connection_file}"],
        "display_name": "Lua 5.4 (async-kernel)",
        "language": "lua",
        "interrupt_mode": "message",
        "metadata": {"debugger": false},
    })
}

/// Writes the kernelspec for `executable` under `target`; returns its directory.
///
/// # Errors
/// [`InstallError`].
pub fn install(target: &InstallTarget, executable: &Path) -> Result<PathBuf, InstallError> {
    let dir = target.kernels_dir()?.join(KERNEL_NAME);
    std::fs::create_dir_all(&dir).map_err(|source| InstallError::Write {
        path: dir.clone(),
        source,
    })?;
    let file = dir.join("kernel.json");
    let text = serde_json::to_string_pretty(&kernel_json(executable)).unwrap_or_default();
    std::fs::write(&file, text).map_err(|source| InstallError::Write { path: file, source })?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_install_options() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            InstallTarget::from_args(&args(&[])),
            Ok(InstallTarget::User)
        );
        assert_eq!(
            InstallTarget::from_args(&args(&["--sys-prefix"])),
            Ok(InstallTarget::SysPrefix)
        );
        assert_eq!(
            InstallTarget::from_args(&args(&["--prefix", "/x"])),
            Ok(InstallTarget::Prefix("/x".into()))
        );
        assert!(InstallTarget::from_args(&args(&["--bogus"])).is_err());
    }

    #[test]
    fn writes_kernel_json_under_a_prefix() {
        let dir = std::env::temp_dir().join(format!("ak-spec-{}", std::process::id()));
        let target = InstallTarget::Prefix(dir.clone());
        let written = install(&target, Path::new("/opt/bin/async-kernel")).unwrap();
        assert_eq!(written, dir.join("share/jupyter/kernels/async-kernel-lua"));
        let spec: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(written.join("kernel.json")).unwrap())
                .unwrap();
        assert_eq!(spec["language"], "lua");
        assert_eq!(spec["interrupt_mode"], "message");
        assert_eq!(spec["argv"][0], "/opt/bin/async-kernel");
        assert_eq!(spec["argv"][2], "{connection_file}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
