//! Metadata carried by a pending (SPEC P2): ordered key/value pairs given at creation.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// A metadata value: a string, a number or a flag.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    /// Text.
    Str(Cow<'static, str>),
    /// A signed integer.
    Int(i64),
    /// A floating point number (a delay in seconds, for example).
    Float(f64),
    /// A flag.
    Bool(bool),
}

impl fmt::Display for MetaValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetaValue::Str(s) => f.write_str(s),
            MetaValue::Int(i) => write!(f, "{i}"),
            MetaValue::Float(x) => write!(f, "{x}"),
            MetaValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl From<&'static str> for MetaValue {
    fn from(s: &'static str) -> Self {
        MetaValue::Str(Cow::Borrowed(s))
    }
}
impl From<String> for MetaValue {
    fn from(s: String) -> Self {
        MetaValue::Str(Cow::Owned(s))
    }
}
impl From<i64> for MetaValue {
    fn from(i: i64) -> Self {
        MetaValue::Int(i)
    }
}
impl From<i32> for MetaValue {
    fn from(i: i32) -> Self {
        MetaValue::Int(i.into())
    }
}
impl From<u32> for MetaValue {
    fn from(i: u32) -> Self {
        MetaValue::Int(i.into())
    }
}
impl From<f64> for MetaValue {
    fn from(x: f64) -> Self {
        MetaValue::Float(x)
    }
}
impl From<bool> for MetaValue {
    fn from(b: bool) -> Self {
        MetaValue::Bool(b)
    }
}

/// One metadata entry.
type Pair = (Cow<'static, str>, MetaValue);

/// Ordered key/value pairs. Cloning is one atomic increment; the pairs never change once the
/// pending is created.
#[derive(Clone, Default, PartialEq)]
pub struct Metadata {
    pairs: Option<Arc<[Pair]>>,
}

/// Longest value shown by `Debug` before it is cut with `…`.
const DEBUG_VALUE_CHARS: usize = 100;

impl Metadata {
    /// Metadata from pairs, keeping their order. A repeated key keeps its last value.
    pub fn from_pairs(pairs: Vec<Pair>) -> Self {
        if pairs.is_empty() {
            return Metadata::default();
        }
        let mut unique: Vec<Pair> = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            match unique.iter_mut().find(|(uk, _)| *uk == k) {
                Some(slot) => slot.1 = v,
                None => unique.push((k, v)),
            }
        }
        Metadata {
            pairs: (!unique.is_empty()).then(|| Arc::from(unique)),
        }
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The pairs in creation order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &MetaValue)> {
        self.pairs
            .iter()
            .flat_map(|p| p.iter())
            .map(|(k, v)| (k.as_ref(), v))
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.as_ref().map_or(0, |p| p.len())
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Metadata {
    /// `{key=value, …}` with each value cut to 100 characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (k, v)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            let text = v.to_string();
            match text.char_indices().nth(DEBUG_VALUE_CHARS) {
                Some((cut, _)) => write!(f, "{k}={}…", &text[..cut])?,
                None => write!(f, "{k}={text}")?,
            }
        }
        f.write_str("}")
    }
}
