//! The kernel's history of executed cells and the three ways to ask for it (`tail`, `range`,
//! `search`), answered as ipykernel answers them: entries `[session, line, input]`, or
//! `[session, line, [input, output]]` when output is asked for.

use serde::Deserialize;
use serde_json::{Value, json};

/// The number of this kernel's session in history replies (the only session it keeps).
pub const SESSION: i64 = 1;

/// One executed cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its execution count (the history's line number).
    pub line: usize,
    /// Its code.
    pub input: String,
    /// The text of its result, if it had one.
    pub output: Option<String>,
}

/// A `history_request`'s content; fields a front-end leaves out take ipykernel's defaults.
#[derive(Debug, Clone, Deserialize)]
pub struct HistoryQuery {
    /// `tail`, `range` or `search`.
    pub hist_access_type: String,
    /// Include outputs.
    #[serde(default)]
    pub output: bool,
    /// `tail` and `search`: at most this many (the last ones); `search` without it: all.
    #[serde(default)]
    pub n: Option<i64>,
    /// `range`: the session (this kernel's number, or 0 and below for the current one).
    #[serde(default)]
    pub session: Option<i64>,
    /// `range`: the first line (inclusive).
    #[serde(default)]
    pub start: Option<i64>,
    /// `range`: the line to stop before; absent or 0 and below: to the end.
    #[serde(default)]
    pub stop: Option<i64>,
    /// `search`: a glob pattern (`*`, `?`, `[...]`) matched against the whole input.
    #[serde(default)]
    pub pattern: Option<String>,
    /// `search`: each input only once (its latest occurrence).
    #[serde(default)]
    pub unique: bool,
}

/// The cells executed in this session, in order.
#[derive(Debug, Default, Clone)]
pub struct History {
    entries: Vec<Entry>,
}

impl History {
    /// Empty history.
    pub fn new() -> History {
        History::default()
    }

    /// Records a cell (with `store_history`).
    pub fn push(&mut self, line: usize, input: &str) {
        self.entries.push(Entry {
            line,
            input: input.to_owned(),
            output: None,
        });
    }

    /// Records the result text of the cell at `line`.
    pub fn set_output(&mut self, line: usize, output: String) {
        if let Some(entry) = self.entries.iter_mut().rev().find(|e| e.line == line) {
            entry.output = Some(output);
        }
    }

    /// All entries.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entries a query asks for, as the JSON items of `history_reply.history`.
    pub fn answer(&self, query: &HistoryQuery) -> Vec<Value> {
        let picked: Vec<&Entry> = match query.hist_access_type.as_str() {
            "tail" => last_n(self.entries.iter().collect(), query.n.unwrap_or(10)),
            "range" => self.range(query),
            "search" => self.search(query),
            _ => Vec::new(),
        };
        picked
            .into_iter()
            .map(|e| {
                if query.output {
                    let output = e.output.clone().unwrap_or_default();
                    json!([SESSION, e.line, [e.input, output]])
                } else {
                    json!([SESSION, e.line, e.input])
                }
            })
            .collect()
    }

    fn range(&self, query: &HistoryQuery) -> Vec<&Entry> {
        let session = query.session.unwrap_or(0);
        if session != SESSION && session > 0 {
            return Vec::new();
        }
        let start = query.start.unwrap_or(1).max(0);
        let stop = query.stop.filter(|s| *s > 0).unwrap_or(i64::MAX);
        self.entries
            .iter()
            .filter(|e| {
                let line = i64::try_from(e.line).unwrap_or(i64::MAX);
                line >= start && line < stop
            })
            .collect()
    }

    fn search(&self, query: &HistoryQuery) -> Vec<&Entry> {
        let pattern = query.pattern.as_deref().unwrap_or("*");
        let mut found: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| glob_match(pattern, &e.input))
            .collect();
        if query.unique {
            // Keep the latest occurrence of each input, in history order.
            let mut seen = std::collections::HashSet::new();
            let mut kept: Vec<&Entry> = found
                .into_iter()
                .rev()
                .filter(|e| seen.insert(e.input.as_str()))
                .collect();
            kept.reverse();
            found = kept;
        }
        match query.n {
            Some(n) if n > 0 => last_n(found, n),
            _ => found,
        }
    }
}

fn last_n(entries: Vec<&Entry>, n: i64) -> Vec<&Entry> {
    let n = usize::try_from(n.max(0)).unwrap_or(usize::MAX);
    let skip = entries.len().saturating_sub(n);
    entries.into_iter().skip(skip).collect()
}

/// SQLite's `GLOB` (what ipykernel's history search uses): the whole text must match; `*` any
/// run, `?` any one character, `[abc]`/`[a-z]`/`[^a]` a set; case-sensitive.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matcher with one backtrack point for the last `*` (linear for the common case).
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = match_set(&p, pi, t[ti]) {
                        if matched {
                            pi = next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Matches `c` against the set starting at `p[start] == '['`; `None` when the set is not
/// closed (then `[` is literal), else whether it matched and the index after `]`.
fn match_set(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negated = p.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negated, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}
