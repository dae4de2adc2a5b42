//! The connection file a front-end writes for the kernel: where to bind and how to sign.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What a connection file says (the fields of the Jupyter connection file format).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ConnectionInfo {
    /// `tcp` or `ipc`.
    pub transport: String,
    /// The address to bind (for `ipc`, the path prefix of the sockets).
    pub ip: String,
    /// Port of the shell channel (ROUTER).
    pub shell_port: u16,
    /// Port of the control channel (ROUTER).
    pub control_port: u16,
    /// Port of the stdin channel (ROUTER).
    pub stdin_port: u16,
    /// Port of the iopub channel (XPUB).
    pub iopub_port: u16,
    /// Port of the heartbeat channel (REP).
    pub hb_port: u16,
    /// The signing key; empty disables signing.
    #[serde(default)]
    pub key: String,
    /// `hmac-sha256` (the only scheme supported), or empty with an empty key.
    #[serde(default)]
    pub signature_scheme: String,
    /// The kernel's name, when the front-end wrote it.
    #[serde(default)]
    pub kernel_name: Option<String>,
}

/// Why a connection file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The file could not be read.
    #[error("cannot read connection file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The reason.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid connection file.
    #[error("invalid connection file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The reason.
        #[source]
        source: serde_json::Error,
    },
    /// A field has a value the kernel cannot use.
    #[error("invalid connection file {path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The five channels, in the order their endpoints are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// Requests and replies.
    Shell,
    /// Requests that must not wait behind cells (interrupt, shutdown).
    Control,
    /// `input_request`/`input_reply`.
    Stdin,
    /// Broadcast outputs and status.
    Iopub,
    /// Echo liveness checks.
    Heartbeat,
}

impl ConnectionInfo {
    /// Reads and checks a connection file.
    ///
    /// # Errors
    /// [`ConnectionError`] when the file is missing, is not JSON of the connection file format,
    /// or names a transport or signature scheme the kernel does not support.
    pub fn from_file(path: &Path) -> Result<ConnectionInfo, ConnectionError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConnectionError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text, path)
    }

    /// Parses and checks the text of a connection file; `path` only names it in errors.
    ///
    /// # Errors
    /// As [`from_file`](Self::from_file), except reading.
    pub fn from_json(text: &str, path: &Path) -> Result<ConnectionInfo, ConnectionError> {
        let info: ConnectionInfo =
            serde_json::from_str(text).map_err(|source| ConnectionError::Parse {
                path: path.to_owned(),
                source,
            })?;
        let invalid = |reason: String| ConnectionError::Invalid {
            path: path.to_owned(),
            reason,
        };
        if info.transport != "tcp" && info.transport != "ipc" {
            return Err(invalid(format!(
                "transport {:?} is neither tcp nor ipc",
                info.transport
            )));
        }
        if info.ip.is_empty() {
            return Err(invalid("ip is empty".into()));
        }
        let scheme_ok = info.signature_scheme == "hmac-sha256"
            || (info.signature_scheme.is_empty() && info.key.is_empty());
        if !scheme_ok {
            return Err(invalid(format!(
                "signature scheme {:?} is not supported (only hmac-sha256)",
                info.signature_scheme
            )));
        }
        Ok(info)
    }

    /// The port of one channel.
    pub fn port(&self, channel: ChannelKind) -> u16 {
        match channel {
            ChannelKind::Shell => self.shell_port,
            ChannelKind::Control => self.control_port,
            ChannelKind::Stdin => self.stdin_port,
            ChannelKind::Iopub => self.iopub_port,
            ChannelKind::Heartbeat => self.hb_port,
        }
    }

    /// The ZeroMQ endpoint of one channel, exactly as the file names it (`tcp://ip:port` or
    /// `ipc://ip-port`); the kernel binds nothing else.
    pub fn endpoint(&self, channel: ChannelKind) -> String {
        let port = self.port(channel);
        if self.transport == "ipc" {
            format!("ipc://{}-{}", self.ip, port)
        } else {
            format!("tcp://{}:{}", self.ip, port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4,
        "hb_port": 5, "ip": "127.0.0.1", "key": "k", "transport": "tcp",
        "signature_scheme": "hmac-sha256", "kernel_name": "async-kernel-lua"}"#;

    #[test]
    fn parses_a_connection_file() {
        let info = ConnectionInfo::from_json(GOOD, Path::new("c.json")).unwrap();
        assert_eq!(info.endpoint(ChannelKind::Shell), "tcp://127.0.0.1:1");
        assert_eq!(info.endpoint(ChannelKind::Heartbeat), "tcp://127.0.0.1:5");
        assert_eq!(info.key, "k");
    }

    #[test]
    fn rejects_other_schemes_and_bad_json() {
        let md5 = GOOD.replace("hmac-sha256", "hmac-md5");
        let err = ConnectionInfo::from_json(&md5, Path::new("c.json")).unwrap_err();
        assert!(err.to_string().contains("hmac-md5"), "{err}");
        let err = ConnectionInfo::from_json("{", Path::new("c.json")).unwrap_err();
        assert!(matches!(err, ConnectionError::Parse { .. }));
        let err = ConnectionInfo::from_file(Path::new("/nonexistent/c.json")).unwrap_err();
        assert!(matches!(err, ConnectionError::Read { .. }));
    }
}
