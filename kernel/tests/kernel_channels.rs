//! The kernel's channels from a ZeroMQ client in the same process: signed requests are
//! answered between busy and idle, a wrong signature is dropped and never executed, a malformed
//! request gets an error reply, shutdown stops everything (issue 10, behaviours 1, 5, 7).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_kernel_jupyter::channels::Kernel;
use async_kernel_jupyter::connection::{ChannelKind, ConnectionInfo};
use async_kernel_jupyter::lua::LuaInterpreter;
use async_kernel_jupyter::messages::Session;
use async_kernel_jupyter::wire::{self, Message};
use serde_json::{Value, json};

const KEY: &str = "a-test-key";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a kernel on free ports. A port found free can be taken by another test's socket
/// before the kernel binds it: then new ports are tried (as a kernel launcher would).
fn start_kernel() -> (ConnectionInfo, Kernel) {
    let mut attempt = 0;
    loop {
        let info = connection();
        match Kernel::start(&info, Arc::new(LuaInterpreter::new().unwrap())) {
            Ok(kernel) => return (info, kernel),
            Err(e @ async_kernel_jupyter::channels::KernelError::Bind { .. }) if attempt < 4 => {
                eprintln!("retrying on other ports: {e}");
                attempt += 1;
            }
            Err(e) => panic!("the kernel did not start: {e}"),
        }
    }
}

fn connection() -> ConnectionInfo {
    let text = json!({
        "transport": "tcp", "ip": "127.0.0.1", "key": KEY, "signature_scheme": "hmac-sha256",
        "shell_port": free_port(), "control_port": free_port(), "stdin_port": free_port(),
        "iopub_port": free_port(), "hb_port": free_port(),
    });
    ConnectionInfo::from_json(&text.to_string(), Path::new("test.json")).unwrap()
}

struct Client {
    session: Session,
    shell: zmq::Socket,
    control: zmq::Socket,
    iopub: zmq::Socket,
}

impl Client {
    fn connect(info: &ConnectionInfo, context: &zmq::Context) -> Client {
        let socket = |kind, channel| {
            let s = context.socket(kind).unwrap();
            s.set_linger(0).unwrap();
            s.set_rcvtimeo(10_000).unwrap();
            s.connect(&info.endpoint(channel)).unwrap();
            s
        };
        let iopub = socket(zmq::SUB, ChannelKind::Iopub);
        iopub.set_subscribe(b"").unwrap();
        let client = Client {
            session: Session::new(KEY.as_bytes()),
            shell: socket(zmq::DEALER, ChannelKind::Shell),
            control: socket(zmq::DEALER, ChannelKind::Control),
            iopub,
        };
        // BEHAVIOUR KW4 (JEP 65): the first iopub message is the welcome.
        let welcome = client.recv(&client.iopub);
        assert_eq!(welcome.header.msg_type, "iopub_welcome");
        client
    }

    fn send_with(
        &self,
        socket: &zmq::Socket,
        session: &Session,
        msg_type: &str,
        content: Value,
    ) -> String {
        let mut message = session.iopub(None, msg_type, content);
        message.identities.clear();
        socket.send_multipart(session.encode(&message), 0).unwrap();
        message.header.msg_id
    }

    fn send(&self, socket: &zmq::Socket, msg_type: &str, content: Value) -> String {
        self.send_with(socket, &self.session, msg_type, content)
    }

    fn recv(&self, socket: &zmq::Socket) -> Message {
        let frames = socket.recv_multipart(0).expect("a message within 10 s");
        wire::decode(frames, self.session.signer()).unwrap()
    }

    /// The iopub messages of request `id` up to its idle.
    fn until_idle(&self, id: &str) -> Vec<Message> {
        let mut seen = Vec::new();
        loop {
            let message = self.recv(&self.iopub);
            if message.parent_header.as_ref().map(|p| p.msg_id.as_str()) != Some(id) {
                continue;
            }
            let idle =
                message.header.msg_type == "status" && message.content["execution_state"] == "idle";
            seen.push(message);
            if idle {
                return seen;
            }
        }
    }
}

fn execute(code: &str) -> Value {
    json!({"code": code, "silent": false, "store_history": true, "user_expressions": {},
           "allow_stdin": false, "stop_on_error": true})
}

// BEHAVIOUR KW2, KW4, KC2, KD1: one kernel, one client, the whole conversation.
#[test]
fn a_conversation_with_the_kernel() {
    let (info, kernel) = start_kernel();
    let running = std::thread::spawn(move || kernel.run_until_shutdown());
    let context = zmq::Context::new();
    let client = Client::connect(&info, &context);

    // Busy, the reply, idle.
    let id = client.send(&client.shell, "kernel_info_request", json!({}));
    let reply = client.recv(&client.shell);
    assert_eq!(reply.header.msg_type, "kernel_info_reply");
    assert_eq!(reply.parent_header.unwrap().msg_id, id);
    assert_eq!(reply.content["language_info"]["name"], "lua");
    let status: Vec<Value> = client
        .until_idle(&id)
        .iter()
        .map(|m| m.content["execution_state"].clone())
        .collect();
    assert_eq!(status, [json!("busy"), json!("idle")]);

    // The heartbeat echoes.
    let heartbeat = context.socket(zmq::REQ).unwrap();
    heartbeat.set_linger(0).unwrap();
    heartbeat.set_rcvtimeo(10_000).unwrap();
    heartbeat
        .connect(&info.endpoint(ChannelKind::Heartbeat))
        .unwrap();
    heartbeat.send(&b"ping"[..], 0).unwrap();
    assert_eq!(heartbeat.recv_bytes(0).unwrap(), b"ping");

    // A request signed with another key is dropped and never runs.
    let intruder = Session::new(b"not the key");
    client.send_with(
        &client.shell,
        &intruder,
        "execute_request",
        execute("intruded = true"),
    );
    let id = client.send(&client.shell, "execute_request", execute("intruded == nil"));
    let reply = client.recv(&client.shell);
    assert_eq!(
        reply.parent_header.unwrap().msg_id,
        id,
        "the forged request was answered"
    );
    let result: Vec<Message> = client
        .until_idle(&id)
        .into_iter()
        .filter(|m| m.header.msg_type == "execute_result")
        .collect();
    assert_eq!(result[0].content["data"]["text/plain"], "true");

    // A malformed request gets an error reply.
    let id = client.send(&client.shell, "complete_request", json!({"cursor_pos": 1}));
    let reply = client.recv(&client.shell);
    assert_eq!(reply.parent_header.unwrap().msg_id, id);
    assert_eq!(reply.content["status"], "error");
    client.until_idle(&id);

    // Shutdown: answered on control, then every thread ends, within a second.
    let id = client.send(
        &client.control,
        "shutdown_request",
        json!({"restart": false}),
    );
    let started = Instant::now();
    let reply = client.recv(&client.control);
    assert_eq!(reply.parent_header.unwrap().msg_id, id);
    assert_eq!(reply.content["status"], "ok");
    running.join().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

// BEHAVIOUR KW3: requests of every type with content of the wrong shape are answered with an
// error or logged; the kernel keeps answering.
#[test]
fn malformed_requests_never_stop_the_kernel() {
    let (info, kernel) = start_kernel();
    let running = std::thread::spawn(move || kernel.run_until_shutdown());
    let context = zmq::Context::new();
    let client = Client::connect(&info, &context);
    let types = [
        "execute_request",
        "complete_request",
        "inspect_request",
        "is_complete_request",
        "history_request",
        "comm_open",
        "comm_msg",
        "comm_close",
        "comm_info_request",
        "kernel_info_request",
        "no_such_request",
    ];
    let contents = [
        json!({}),
        json!({"code": 5, "cursor_pos": "x"}),
        json!({"code": null, "cursor_pos": -1, "detail_level": 7}),
        json!({"hist_access_type": "nope", "n": "many", "pattern": 1}),
        json!({"comm_id": 3, "target_name": [], "data": "x"}),
        json!({"code": "x", "cursor_pos": 1_000_000}),
    ];
    for msg_type in types {
        for content in &contents {
            client.send(&client.shell, msg_type, content.clone());
            client.send(&client.control, msg_type, content.clone());
        }
    }
    let id = client.send(&client.shell, "kernel_info_request", json!({}));
    loop {
        let reply = client.recv(&client.shell);
        if reply.parent_header.map(|p| p.msg_id) == Some(id.clone()) {
            assert_eq!(reply.content["status"], "ok");
            break;
        }
    }
    client.send(
        &client.control,
        "shutdown_request",
        json!({"restart": false}),
    );
    running.join().unwrap();
}
