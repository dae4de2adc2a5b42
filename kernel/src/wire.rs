//! The wire format of a Jupyter message: ZeroMQ routing identities, the delimiter `<IDS|MSG>`,
//! an HMAC-SHA256 signature (hex) over the four JSON parts (header, parent header, metadata,
//! content), those parts, then binary buffers.

use hmac::{Hmac, Mac};
use jupyter_protocol::Header;
use serde_json::Value;
use sha2::Sha256;

/// The frame that separates routing identities from the message.
pub const DELIMITER: &[u8] = b"<IDS|MSG>";

/// Signs and checks messages with the connection file's key.
#[derive(Clone)]
pub struct Signer {
    /// `None` when the key is empty: messages carry an empty signature and none is checked.
    mac: Option<Hmac<Sha256>>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("Signer")
            .field("signing", &self.mac.is_some())
            .finish()
    }
}

impl Signer {
    /// A signer for `key`; an empty key turns signing off, as the protocol specifies.
    pub fn new(key: &[u8]) -> Signer {
        let mac = if key.is_empty() {
            None
        } else {
            // HMAC accepts keys of any length; this cannot fail.
            Hmac::<Sha256>::new_from_slice(key).ok()
        };
        Signer { mac }
    }

    fn mac_of(&self, parts: &[&[u8]; 4]) -> Option<Hmac<Sha256>> {
        let mut mac = self.mac.clone()?;
        for part in parts {
            mac.update(part);
        }
        Some(mac)
    }

    /// The hex signature of the four JSON parts (empty when signing is off).
    pub fn sign(&self, parts: &[&[u8]; 4]) -> String {
        match self.mac_of(parts) {
            Some(mac) => hex_encode(&mac.finalize().into_bytes()),
            None => String::new(),
        }
    }

    /// True when `signature` (hex) is the signature of `parts`. The comparison takes the same
    /// time wherever the first difference is (`hmac`'s `verify_slice`).
    pub fn verify(&self, signature: &[u8], parts: &[&[u8]; 4]) -> bool {
        match self.mac_of(parts) {
            None => true,
            Some(mac) => match hex_decode(signature) {
                Some(bytes) => mac.verify_slice(&bytes).is_ok(),
                None => false,
            },
        }
    }
}

fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

fn hex_decode(text: &[u8]) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    text.chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// A decoded message: the routing identities it came with and its parts. The content stays
/// JSON: each handler reads the fields it needs (leniently, as front-ends differ).
#[derive(Debug, Clone)]
pub struct Message {
    /// ZeroMQ routing identities (a reply goes back through them).
    pub identities: Vec<Vec<u8>>,
    /// The header.
    pub header: Header,
    /// The header of the message this one answers, if any.
    pub parent_header: Option<Header>,
    /// The metadata (an object).
    pub metadata: Value,
    /// The content (an object).
    pub content: Value,
    /// Binary buffers after the content.
    pub buffers: Vec<Vec<u8>>,
}

/// Why a multipart message was rejected.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// No `<IDS|MSG>` frame.
    #[error("no <IDS|MSG> delimiter in a message of {0} frames")]
    NoDelimiter(usize),
    /// Fewer than the signature and four JSON parts after the delimiter.
    #[error("a message needs 5 frames after the delimiter, this one has {0}")]
    TooFewParts(usize),
    /// The signature does not match the key.
    #[error("invalid signature")]
    BadSignature,
    /// A JSON part could not be read.
    #[error("invalid {part}: {source}")]
    Json {
        /// Which part.
        part: &'static str,
        /// The reason.
        #[source]
        source: serde_json::Error,
    },
    /// A part is JSON, but not an object.
    #[error("the {0} is not a JSON object")]
    NotAnObject(&'static str),
}

/// Decodes a multipart message received on a ROUTER socket, checking its signature first.
///
/// # Errors
/// [`WireError`] when the frames are not a signed Jupyter message; nothing of a message with
/// a wrong signature is parsed.
pub fn decode(mut frames: Vec<Vec<u8>>, signer: &Signer) -> Result<Message, WireError> {
    let total = frames.len();
    let delimiter = frames
        .iter()
        .position(|f| f.as_slice() == DELIMITER)
        .ok_or(WireError::NoDelimiter(total))?;
    let after = total - delimiter - 1;
    if after < 5 {
        return Err(WireError::TooFewParts(after));
    }
    let mut rest = frames.split_off(delimiter + 1);
    frames.truncate(delimiter);
    let identities = frames;
    let buffers = rest.split_off(5);
    let [signature, header, parent, metadata, content]: [Vec<u8>; 5] =
        rest.try_into().map_err(|_| WireError::TooFewParts(after))?;
    if !signer.verify(&signature, &[&header, &parent, &metadata, &content]) {
        return Err(WireError::BadSignature);
    }
    let header: Header = serde_json::from_slice(&header).map_err(|source| WireError::Json {
        part: "header",
        source,
    })?;
    let parent_value: Value = parse_object(&parent, "parent header")?;
    let parent_header = match &parent_value {
        Value::Object(map) if map.is_empty() => None,
        _ => serde_json::from_value(parent_value).ok(),
    };
    Ok(Message {
        identities,
        header,
        parent_header,
        metadata: parse_object(&metadata, "metadata")?,
        content: parse_object(&content, "content")?,
        buffers,
    })
}

fn parse_object(bytes: &[u8], part: &'static str) -> Result<Value, WireError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|source| WireError::Json { part, source })?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(WireError::NotAnObject(part))
    }
}

/// Encodes a message into frames for a ROUTER (with its identities) or an XPUB (whose
/// identities are the topic) socket.
pub fn encode(message: &Message, signer: &Signer) -> Vec<Vec<u8>> {
    // Serialising these JSON values cannot fail (string keys only).
    let header = serde_json::to_vec(&message.header).unwrap_or_default();
    let parent = match &message.parent_header {
        Some(parent) => serde_json::to_vec(parent).unwrap_or_default(),
        None => b"{}".to_vec(),
    };
    let metadata = serde_json::to_vec(&message.metadata).unwrap_or_default();
    let content = serde_json::to_vec(&message.content).unwrap_or_default();
    let signature = signer.sign(&[&header, &parent, &metadata, &content]);
    let mut frames = Vec::with_capacity(message.identities.len() + 6 + message.buffers.len());
    frames.extend(message.identities.iter().cloned());
    frames.push(DELIMITER.to_vec());
    frames.push(signature.into_bytes());
    frames.extend([header, parent, metadata, content]);
    frames.extend(message.buffers.iter().cloned());
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        assert_eq!(hex_encode(&[0, 15, 255]), "000fff");
        assert_eq!(hex_decode(b"000fFF"), Some(vec![0, 15, 255]));
        assert_eq!(hex_decode(b"0g"), None);
        assert_eq!(hex_decode(b"0"), None);
    }

    #[test]
    fn signature_matches_a_known_value() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog") split in four parts.
        let signer = Signer::new(b"key");
        let parts: [&[u8]; 4] = [
            b"The quick ",
            b"brown fox ",
            b"jumps over ",
            b"the lazy dog",
        ];
        assert_eq!(
            signer.sign(&parts),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        assert!(signer.verify(signer.sign(&parts).as_bytes(), &parts));
        assert!(!signer.verify(b"f7bc", &parts));
    }
}
