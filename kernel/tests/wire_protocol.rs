//! The wire protocol: signing, bad signatures rejected, round trips, and a property test that
//! feeds random and mutated multipart messages to the decoder (issue 10, behaviour 7).

use async_kernel_jupyter::messages::Session;
use async_kernel_jupyter::wire::{self, DELIMITER, Signer, WireError};
use proptest::prelude::*;
use serde_json::json;

fn request(session: &Session) -> Vec<Vec<u8>> {
    let mut message = session.iopub(None, "kernel_info_request", json!({}));
    message.identities = vec![b"client-1".to_vec()];
    session.encode(&message)
}

// BEHAVIOUR KW1: a message signed with the key decodes to what was encoded, identities included.
#[test]
fn round_trip() {
    let session = Session::new(b"secret");
    let mut message = session.iopub(
        None,
        "execute_request",
        json!({"code": "x = 1", "silent": false}),
    );
    message.identities = vec![b"a".to_vec(), b"b".to_vec()];
    message.buffers = vec![b"\x00\x01".to_vec()];
    let frames = session.encode(&message);
    let decoded = wire::decode(frames, session.signer()).unwrap();
    assert_eq!(decoded.identities, message.identities);
    assert_eq!(decoded.header.msg_id, message.header.msg_id);
    assert_eq!(decoded.header.msg_type, "execute_request");
    assert_eq!(decoded.content, message.content);
    assert_eq!(decoded.buffers, message.buffers);
    assert!(decoded.parent_header.is_none());

    let reply = session.reply(&decoded, "execute_reply", json!({"status": "ok"}));
    let back = wire::decode(session.encode(&reply), session.signer()).unwrap();
    assert_eq!(back.parent_header.unwrap().msg_id, message.header.msg_id);
    assert_eq!(back.identities, message.identities);
}

// BEHAVIOUR KW2: a wrong signature, another key, or a changed part is rejected before parsing.
#[test]
fn bad_signatures_are_rejected() {
    let session = Session::new(b"secret");
    let frames = request(&session);
    let other = Signer::new(b"other key");
    assert!(matches!(
        wire::decode(frames.clone(), &other),
        Err(WireError::BadSignature)
    ));

    let mut tampered = frames.clone();
    let content = tampered.len() - 1;
    tampered[content] = br#"{"code": "os.exit()"}"#.to_vec();
    assert!(matches!(
        wire::decode(tampered, session.signer()),
        Err(WireError::BadSignature)
    ));

    let mut unsigned = frames.clone();
    let at = unsigned.iter().position(|f| f == DELIMITER).unwrap() + 1;
    unsigned[at] = Vec::new();
    assert!(matches!(
        wire::decode(unsigned, session.signer()),
        Err(WireError::BadSignature)
    ));
    assert!(wire::decode(frames, session.signer()).is_ok());
}

// BEHAVIOUR KW2: an empty key turns signing off (the protocol's rule).
#[test]
fn empty_key_means_unsigned() {
    let session = Session::new(b"");
    let frames = request(&session);
    let at = frames.iter().position(|f| f == DELIMITER).unwrap() + 1;
    assert!(frames[at].is_empty());
    assert!(wire::decode(frames, &Signer::new(b"")).is_ok());
}

// BEHAVIOUR KW3: structural errors are errors, not panics.
#[test]
fn structural_errors() {
    let signer = Signer::new(b"");
    assert!(matches!(
        wire::decode(vec![], &signer),
        Err(WireError::NoDelimiter(0))
    ));
    let short = vec![DELIMITER.to_vec(), b"".to_vec(), b"{}".to_vec()];
    assert!(matches!(
        wire::decode(short, &signer),
        Err(WireError::TooFewParts(2))
    ));
    let not_object = vec![
        DELIMITER.to_vec(),
        b"".to_vec(),
        br#"{"msg_id":"1","username":"u","session":"s","msg_type":"t","version":"5.3"}"#.to_vec(),
        b"{}".to_vec(),
        b"[]".to_vec(),
        b"{}".to_vec(),
    ];
    assert!(matches!(
        wire::decode(not_object, &signer),
        Err(WireError::NotAnObject("metadata"))
    ));
}

fn mutate(frames: &mut Vec<Vec<u8>>, op: u8, index: usize, byte: u8) {
    if frames.is_empty() {
        frames.push(vec![byte]);
        return;
    }
    let i = index % frames.len();
    match op % 6 {
        0 => {
            let f = &mut frames[i];
            if !f.is_empty() {
                let j = index % f.len();
                f[j] ^= byte | 1;
            }
        }
        1 => {
            frames.remove(i);
        }
        2 => frames.insert(i, vec![byte; index % 7]),
        3 => {
            let keep = index % (frames[i].len() + 1);
            frames[i].truncate(keep);
        }
        4 => {
            let j = (i + 1) % frames.len();
            frames.swap(i, j);
        }
        _ => frames[i].extend_from_slice(&[byte, b'"', b'}']),
    }
}

proptest! {
    // 102,000 messages in all: 34,000 cases of a mutated valid message, random frames, and the
    // same random frames behind a delimiter. Each is
    // decoded or rejected, never a panic; a decoded one is answered by encoding a reply.
    #![proptest_config(ProptestConfig { cases: 34_000, failure_persistence: None, ..ProptestConfig::default() })]

    // BEHAVIOUR KW3
    #[test]
    fn mutated_and_random_messages_never_panic(
        ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 0..4),
        random in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..9),
        keyed in any::<bool>(),
    ) {
        let session = Session::new(if keyed { b"k".as_slice() } else { b"".as_slice() });
        let mut frames = request(&session);
        for (op, index, byte) in ops {
            mutate(&mut frames, op, index, byte);
        }
        // Random frames after a delimiter reach the signature check and the JSON parsers too.
        let mut delimited = vec![DELIMITER.to_vec()];
        delimited.extend(random.iter().cloned());
        for candidate in [frames, random, delimited] {
            if let Ok(message) = wire::decode(candidate, session.signer()) {
                let reply = session.reply(&message, "kernel_info_reply", json!({"status": "ok"}));
                prop_assert!(wire::decode(session.encode(&reply), session.signer()).is_ok());
            }
        }
    }
}
