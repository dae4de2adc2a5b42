//! The names a scheduled call's metadata shows (SPEC P2): its function and its caller, kept out
//! of the pending so that naming a call costs no allocation and no space per call.
//!
//! A pending stores a 16-bit function id (in what was padding) and the caller's 32-bit id it
//! already has; both are turned into names only when metadata or `Debug` is asked for.
//! Function names are `std::any::type_name` strings (`&'static str`), interned once per type:
//! a per-thread cache keyed by the string's address makes the lookup on the scheduling path a
//! thread-local read. Low in the module stack: the pending reads it, the caller fills it.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

/// Interned function names; id `n` is `names[n - 1]`, 0 means none.
struct Interner {
    names: Vec<&'static str>,
    ids: HashMap<&'static str, u16>,
}

static FUNCTIONS: LazyLock<Mutex<Interner>> = LazyLock::new(|| {
    Mutex::new(Interner {
        names: Vec::new(),
        ids: HashMap::new(),
    })
});

/// Caller names by caller id, while the caller exists.
static CALLERS: LazyLock<Mutex<HashMap<u32, Arc<str>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Slots of the per-thread cache (a power of two).
const CACHE_SLOTS: usize = 64;

thread_local! {
    /// `(address, length, id)` of recently interned names, direct-mapped by address.
    static CACHE: [Cell<(usize, usize, u16)>; CACHE_SLOTS] =
        const { [const { Cell::new((0, 0, 0)) }; CACHE_SLOTS] };
}

/// The id of function type `F`'s name (0 when the table is full: the call is then unnamed).
pub(crate) fn function_id<F: ?Sized>() -> u16 {
    let name = std::any::type_name::<F>();
    let (addr, len) = (name.as_ptr() as usize, name.len());
    let slot = (addr >> 3) & (CACHE_SLOTS - 1);
    let cached = CACHE.with(|c| c[slot].get());
    if cached.0 == addr && cached.1 == len {
        return cached.2;
    }
    let id = intern(name);
    CACHE.with(|c| c[slot].set((addr, len, id)));
    id
}

/// The id of a function name already in hand (a queue keeps its function's `type_name`).
pub(crate) fn name_id(name: &'static str) -> u16 {
    intern(name)
}

fn intern(name: &'static str) -> u16 {
    let name = enclosing_function(unwrap_marker(name));
    let mut table = FUNCTIONS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(&id) = table.ids.get(name) {
        return id;
    }
    let Ok(id) = u16::try_from(table.names.len() + 1) else {
        return 0;
    };
    table.names.push(name);
    table.ids.insert(name, id);
    id
}

/// `Async<f::{{closure}}>` names the closure inside, which is what the user wrote.
fn unwrap_marker(name: &'static str) -> &'static str {
    const WRAPPERS: [&str; 3] = [
        "async_kernel::caller::call::Async<",
        "async_kernel::caller::call::Fallible<",
        "async_kernel::caller::call::FallibleAsync<",
    ];
    for prefix in WRAPPERS {
        if let Some(inner) = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix('>'))
        {
            return inner;
        }
    }
    name
}

/// `tour::main::{{closure}}::{{closure}}` names the function that wrote the closure,
/// `tour::main`: the `{{closure}}` segments say nothing a reader can use (every closure has
/// them, nested ones several), and a log line or a group's failure message should read as the
/// user's own path. A name that is only a closure segment is kept as it is.
fn enclosing_function(name: &'static str) -> &'static str {
    let mut short = name;
    while let Some(outer) = short.strip_suffix("::{{closure}}") {
        short = outer;
    }
    if short.is_empty() { name } else { short }
}

/// The function name behind `id`.
pub(crate) fn function_name(id: u16) -> Option<&'static str> {
    let index = usize::from(id).checked_sub(1)?;
    let table = FUNCTIONS.lock().unwrap_or_else(PoisonError::into_inner);
    table.names.get(index).copied()
}

/// Records the name of caller `id` (for as long as the caller exists).
pub(crate) fn register_caller(id: u32, name: &str) {
    CALLERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id, Arc::from(name));
}

/// Forgets caller `id` (its last handle is gone).
pub(crate) fn forget_caller(id: u32) {
    CALLERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&id);
}

/// The name of caller `id`, while it exists.
pub(crate) fn caller_name(id: u32) -> Option<Arc<str>> {
    CALLERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&id)
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_gets_one_id_and_its_name_back() {
        let a = function_id::<fn()>();
        let b = function_id::<fn()>();
        assert_eq!(a, b);
        assert_eq!(function_name(a), Some("fn()"));
    }

    #[test]
    fn wrappers_name_the_closure_inside() {
        assert_eq!(
            unwrap_marker("async_kernel::caller::call::Async<my::f::{{closure}}>"),
            "my::f::{{closure}}"
        );
        assert_eq!(unwrap_marker("my::f::{{closure}}"), "my::f::{{closure}}");
    }

    #[test]
    fn closures_are_named_after_their_enclosing_function() {
        assert_eq!(enclosing_function("tour::main::{{closure}}"), "tour::main");
        assert_eq!(
            enclosing_function("tour::main::{{closure}}::{{closure}}::{{closure}}"),
            "tour::main"
        );
        assert_eq!(
            enclosing_function("a::f::{{closure}}::g::{{closure}}"),
            "a::f::{{closure}}::g"
        );
        assert_eq!(enclosing_function("a::answer"), "a::answer");
        assert_eq!(enclosing_function("::{{closure}}"), "::{{closure}}");
    }
}
