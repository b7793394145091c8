//! Fault injection for `tests/tests/faults.rs`: a DynamoDB Local that a test
//! owns and can stop and restart on the same port with its data, and a small
//! TCP proxy between a client and DynamoDB that passes, delays, loses or
//! refuses requests, chosen per DynamoDB operation.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdin};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A DynamoDB Local of one test, keeping its data in a directory of its own
/// (not in memory) so that [`StoppableDynamoDb::restart`] finds it again,
/// like a real outage and recovery. Stopped, and its data removed, when
/// dropped.
pub struct StoppableDynamoDb {
    port: u16,
    dir: PathBuf,
    running: Option<(Child, ChildStdin)>,
}

impl StoppableDynamoDb {
    /// Starts one on a free port, with its data in a fresh temporary
    /// directory, and waits until it listens.
    pub fn start() -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!(
            "dynamodb-local-faults-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let mut db = Self {
            port: crate::free_port(),
            dir,
            running: None,
        };
        db.restart()?;
        Ok(db)
    }

    /// `http://127.0.0.1:<port>`, the same across restarts.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the emulator and waits until it has exited: its port refuses
    /// connections from then on.
    pub fn stop(&mut self) {
        if let Some((mut child, stdin)) = self.running.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and data, and waits until it listens.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.running = Some(crate::spawn_emulator(self.port, Some(&self.dir))?);
        Ok(())
    }
}

impl Drop for StoppableDynamoDb {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the proxy does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward the request and the answer.
    Pass,
    /// Forward the request; hold DynamoDB's answer this long before passing
    /// it on (a slow DynamoDB or network).
    Delay(Duration),
    /// Hold the request this long before forwarding it: DynamoDB applies
    /// it late, after whatever other clients did meanwhile.
    Hold(Duration),
    /// Forward the request and let DynamoDB apply it, then close the
    /// connection instead of answering: a response lost on the way back.
    LoseResponse,
    /// Close the connection without forwarding anything: DynamoDB never
    /// sees the request.
    Refuse,
}

/// Which requests a fault applies to, and how many more times.
struct Rule {
    operation: Option<String>,
    fault: Fault,
    times: usize,
}

#[derive(Default)]
struct State {
    /// First matching rule with `times > 0` wins; none matching: pass.
    rules: Vec<Rule>,
    /// Requests seen, by DynamoDB operation (`GetItem`, ...).
    seen: HashMap<String, usize>,
}

impl State {
    fn fault_for(&mut self, operation: &str) -> Fault {
        *self.seen.entry(operation.to_owned()).or_default() += 1;
        let rule = self
            .rules
            .iter_mut()
            .find(|r| r.times > 0 && r.operation.as_deref().is_none_or(|op| op == operation));
        match rule {
            Some(r) => {
                r.times -= 1;
                r.fault
            }
            None => Fault::Pass,
        }
    }
}

/// A loopback TCP proxy to DynamoDB whose behaviour the test switches while
/// it runs. It reads the operation from each request's `X-Amz-Target`
/// header; the SDK speaks HTTP/1.1 without pipelining, so one request is in
/// flight per connection. Stops when dropped.
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// A proxy on a free loopback port to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = shared.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        relay(client, server, state).await;
                    }
                });
            }
        });
        Ok(Self {
            addr,
            state,
            accept,
        })
    }

    /// The endpoint to give the client.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `fault` to every request from now on (`Fault::Pass` heals).
    pub fn set(&self, fault: Fault) {
        self.state().rules = vec![Rule {
            operation: None,
            fault,
            times: usize::MAX,
        }];
    }

    /// Applies `fault` to the next `times` requests of `operation` (e.g.
    /// `"TransactWriteItems"`), ahead of what [`Proxy::set`] chose.
    pub fn set_for(&self, operation: &str, fault: Fault, times: usize) {
        self.state().rules.insert(
            0,
            Rule {
                operation: Some(operation.to_owned()),
                fault,
                times,
            },
        );
    }

    /// Requests of `operation` the proxy has seen, faulted ones included.
    pub fn seen(&self, operation: &str) -> usize {
        self.state().seen.get(operation).copied().unwrap_or(0)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// The DynamoDB operation named by a request head, if this chunk has one.
fn operation(chunk: &[u8]) -> Option<String> {
    const HEADER: &[u8] = b"x-amz-target:";
    let lower = chunk.to_ascii_lowercase();
    let at = lower.windows(HEADER.len()).position(|w| w == HEADER)? + HEADER.len();
    let line = &chunk[at..];
    let end = line.iter().position(|&b| b == b'\r' || b == b'\n')?;
    let value = std::str::from_utf8(&line[..end]).ok()?.trim();
    Some(value.rsplit('.').next().unwrap_or(value).to_owned())
}

/// Relays one connection, applying to each request the fault chosen when
/// its head went through, to the request itself (refuse, hold) or to the
/// first chunk of its answer (delay, lose).
async fn relay(client: TcpStream, server: TcpStream, state: Arc<Mutex<State>>) {
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut server_rx, mut server_tx) = server.into_split();
    // The fault of the request in flight, taken by the first answer chunk.
    let pending: Arc<Mutex<Option<Fault>>> = Arc::default();
    let in_flight = pending.clone();

    let requests = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_rx.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if let Some(op) = operation(&buf[..n]) {
                let fault = state
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .fault_for(&op);
                match fault {
                    Fault::Refuse => return,
                    Fault::Hold(d) => tokio::time::sleep(d).await,
                    _ => {}
                }
                *in_flight.lock().unwrap_or_else(PoisonError::into_inner) = Some(fault);
            }
            if server_tx.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let answers = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match server_rx.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let fault = pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            match fault {
                Some(Fault::LoseResponse) => return,
                Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
                _ => {}
            }
            if client_tx.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    // Whichever side ends first closes the whole connection (dropping both
    // halves of both sockets), as a dead peer would.
    tokio::select! {
        () = requests => {}
        () = answers => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_operation_from_a_request_head() {
        let head =
            b"POST / HTTP/1.1\r\nhost: x\r\nX-Amz-Target: DynamoDB_20120810.UpdateItem\r\n\r\n{}";
        assert_eq!(operation(head).as_deref(), Some("UpdateItem"));
        assert_eq!(operation(b"{\"body\": \"only\"}"), None);
    }

    #[test]
    fn rules_apply_in_order_and_run_out() {
        let mut s = State::default();
        s.rules.push(Rule {
            operation: Some("GetItem".into()),
            fault: Fault::Refuse,
            times: 1,
        });
        assert_eq!(s.fault_for("PutItem"), Fault::Pass);
        assert_eq!(s.fault_for("GetItem"), Fault::Refuse);
        assert_eq!(s.fault_for("GetItem"), Fault::Pass);
        assert_eq!(s.seen["GetItem"], 2);
    }
}
