//! How a cell runs, chosen by its first line (`-- queue`, `-- task`, `-- thread`,
//! `-- thread name=NAME`) or a tag in the request's metadata (`queue`, `task`, `thread`).

use serde_json::Value;

/// How a cell runs (the reference's run modes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RunMode {
    /// One at a time, in the order the requests came (the default).
    #[default]
    Queue,
    /// On the shell's loop, concurrently with later cells.
    Task,
    /// On a worker thread: an anonymous one from the pool (`None`) or a named caller kept for
    /// later cells of the same name.
    Thread(Option<String>),
}

impl RunMode {
    /// The mode a cell asks for: its first line wins over the metadata's tags; neither gives
    /// [`RunMode::Queue`].
    pub fn of_cell(code: &str, metadata: &Value) -> RunMode {
        Self::from_first_line(code)
            .or_else(|| Self::from_tags(metadata))
            .unwrap_or_default()
    }

    /// The mode named by a first line such as `-- thread name=io` (case-sensitive keywords,
    /// any spacing); `None` when the first line names none.
    pub fn from_first_line(code: &str) -> Option<RunMode> {
        let line = code.lines().next()?.trim();
        let rest = line.strip_prefix("--")?.trim();
        // A long comment `--[[` is not a directive.
        if rest.starts_with('[') {
            return None;
        }
        let mut words = rest.split_whitespace();
        let mode = match words.next()? {
            "queue" => RunMode::Queue,
            "task" => RunMode::Task,
            "thread" => {
                let name = words
                    .next()
                    .and_then(|w| w.strip_prefix("name="))
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned);
                return Some(RunMode::Thread(name));
            }
            _ => return None,
        };
        words.next().is_none().then_some(mode)
    }

    /// The mode named by the request metadata's cell tags (`metadata.tags` or
    /// `metadata.cell.tags`... as front-ends send them): the first of `queue`, `task`,
    /// `thread` found.
    pub fn from_tags(metadata: &Value) -> Option<RunMode> {
        let tags = metadata
            .get("tags")
            .or_else(|| metadata.get("cell").and_then(|c| c.get("tags")))?
            .as_array()?;
        tags.iter().find_map(|tag| match tag.as_str()? {
            "queue" => Some(RunMode::Queue),
            "task" => Some(RunMode::Task),
            "thread" => Some(RunMode::Thread(None)),
            _ => None,
        })
    }

    /// The mode's keyword.
    pub fn name(&self) -> &'static str {
        match self {
            RunMode::Queue => "queue",
            RunMode::Task => "task",
            RunMode::Thread(_) => "thread",
        }
    }
}
