//! Context variables and context snapshots on threads (BEHAVIOUR CV2, SPEC T2).

use async_kernel::{Context, ContextVar, InvalidStateKind};

// BEHAVIOUR CV2: a variable is unset until set; set/reset restores the previous value.
#[test]
fn set_then_reset_restores_unset() {
    let var: ContextVar<u32> = ContextVar::new("n");
    assert_eq!(var.get(), None);
    let token = var.set(5);
    assert_eq!(var.get(), Some(5));
    var.reset(token).unwrap();
    assert_eq!(var.get(), None);
}

// BEHAVIOUR CV2: nested sets unwind to each earlier value in turn.
#[test]
fn nested_sets_reset_to_the_previous_value() {
    let var: ContextVar<&'static str> = ContextVar::new("name");
    let t1 = var.set("outer");
    let t2 = var.set("inner");
    assert_eq!(var.get(), Some("inner"));
    var.reset(t2).unwrap();
    assert_eq!(var.get(), Some("outer"));
    var.reset(t1).unwrap();
    assert_eq!(var.get(), None);
}

// SPEC T4 (WrongToken): resetting with another variable's token is refused and changes nothing.
#[test]
fn reset_with_a_token_of_another_variable_is_wrong_token() {
    let a: ContextVar<u32> = ContextVar::new("a");
    let b: ContextVar<u32> = ContextVar::new("b");
    let ta = a.set(1);
    let tb = b.set(2);
    let err = b.reset(ta).unwrap_err();
    assert_eq!(err.kind(), InvalidStateKind::WrongToken);
    assert_eq!(a.get(), Some(1));
    assert_eq!(b.get(), Some(2));
    b.reset(tb).unwrap();
    assert_eq!(b.get(), None);
}

// BEHAVIOUR CV2: two variables of the same type are independent; a clone is the same variable.
#[test]
fn variables_are_independent_and_clones_are_the_same() {
    let a: ContextVar<u32> = ContextVar::new("a");
    let b: ContextVar<u32> = ContextVar::new("a"); // same name, still another variable
    let a2 = a.clone();
    let _t = a.set(1);
    assert_eq!(b.get(), None);
    assert_eq!(a2.get(), Some(1));
    assert_eq!(a2.name(), "a");
}

// BEHAVIOUR CV2: Context::run sees the snapshot's values; what it sets stays in the copy.
#[test]
fn run_sees_snapshot_and_does_not_leak() {
    let var: ContextVar<u32> = ContextVar::new("v");
    let snapshot = Context::new().with_value(&var, 10);
    let seen = snapshot.run(|| {
        let before = var.get();
        let _t = var.set(11);
        (before, var.get())
    });
    assert_eq!(seen, (Some(10), Some(11)));
    assert_eq!(var.get(), None, "the thread's context is restored");
    assert_eq!(snapshot.get(&var), Some(10), "the snapshot is unchanged");
}

// BEHAVIOUR CV2: Context::run_mut keeps what the closure set in the context.
#[test]
fn run_mut_keeps_values_set_inside() {
    let var: ContextVar<u32> = ContextVar::new("v");
    let mut ctx = Context::new();
    ctx.run_mut(|| {
        let _t = var.set(3);
    });
    assert_eq!(var.get(), None);
    assert_eq!(ctx.get(&var), Some(3));
    assert_eq!(ctx.run(|| var.get()), Some(3));
}

// BEHAVIOUR CV2: a captured snapshot does not change when the thread sets values later.
#[test]
fn captured_snapshot_is_immutable() {
    let var: ContextVar<u32> = ContextVar::new("v");
    let t = var.set(1);
    let snapshot = Context::current();
    let _t2 = var.set(2);
    assert_eq!(snapshot.get(&var), Some(1));
    assert_eq!(snapshot.run(|| var.get()), Some(1));
    drop(t);
}

// SPEC T2: a snapshot carries its values to another thread, whose own context starts empty.
#[test]
fn snapshot_travels_to_another_thread() {
    let var: ContextVar<String> = ContextVar::new("request");
    let _t = var.set("r-17".to_owned());
    let snapshot = Context::current();
    let v = var.clone();
    let (plain, inside) = std::thread::spawn(move || (v.get(), snapshot.run(|| v.get())))
        .join()
        .unwrap();
    assert_eq!(plain, None);
    assert_eq!(inside.as_deref(), Some("r-17"));
}

// BEHAVIOUR CV2: Context::run restores the previous context even when the closure panics.
#[test]
fn run_restores_context_after_a_panic() {
    let var: ContextVar<u32> = ContextVar::new("v");
    let ctx = Context::new().with_value(&var, 1);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ctx.run(|| {
            assert_eq!(var.get(), Some(1));
            panic!("inside run");
        })
    }));
    assert!(r.is_err());
    assert_eq!(var.get(), None);
}

// BEHAVIOUR CV2: with_value makes a copy and never touches the thread's current context.
#[test]
fn with_value_copies_and_leaves_current_alone() {
    let var: ContextVar<u32> = ContextVar::new("v");
    let empty = Context::new();
    assert!(empty.is_empty());
    let one = empty.with_value(&var, 1);
    let two = one.with_value(&var, 2);
    assert!(empty.is_empty());
    assert_eq!(one.get(&var), Some(1));
    assert_eq!(two.get(&var), Some(2));
    assert_eq!(var.get(), None);
}
