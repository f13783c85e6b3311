//! OpenSSH's multiplexing protocol (`PROTOCOL.mux`), the client side: a session over a host's
//! master connection, opened by talking to the master's control socket, without starting an
//! `ssh` client for it. An ssh client costs its start-up (about 7 ms of CPU here, most of it
//! OpenSSL and the C library setting up) for every run and every remote kill; the master does
//! the same work either way.
//!
//! A session: hello (protocol 4), `MUX_C_NEW_SESSION` with the command and environment, then
//! the standard input, output and error descriptors passed over the socket (`SCM_RIGHTS`, one
//! per message, as ssh does), `MUX_S_SESSION_OPENED`, and at its end `MUX_S_EXIT_MESSAGE`.
//! Closing the control connection ends the session.

use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::watch;

const HELLO: u32 = 0x0000_0001;
const NEW_SESSION: u32 = 0x1000_0002;
const ALIVE_CHECK: u32 = 0x1000_0004;
const S_PERMISSION_DENIED: u32 = 0x8000_0002;
const S_FAILURE: u32 = 0x8000_0003;
const S_EXIT_MESSAGE: u32 = 0x8000_0004;
const S_ALIVE: u32 = 0x8000_0005;
const S_SESSION_OPENED: u32 = 0x8000_0006;
const S_TTY_ALLOC_FAIL: u32 = 0x8000_0008;
const VERSION: u32 = 4;
/// No escape character (there is no terminal).
const NO_ESCAPE: u32 = 0xffff_ffff;

/// The largest message taken from a master: its messages are a few words each.
const MAX_PACKET: usize = 64 * 1024;
/// How long opening a session may take: the master answers at once or not at all.
const OPEN_WITHIN: Duration = Duration::from_secs(10);

fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_be_bytes());
}

fn put_str(b: &mut Vec<u8>, s: &[u8]) {
    put_u32(b, s.len() as u32);
    b.extend_from_slice(s);
}

/// The fields of one message from the master.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn u32(&mut self) -> io::Result<u32> {
        let (head, rest) = self
            .0
            .split_at_checked(4)
            .ok_or_else(|| bad("a message ended early"))?;
        self.0 = rest;
        Ok(u32::from_be_bytes(head.try_into().expect("four bytes")))
    }

    fn string(&mut self) -> io::Result<String> {
        let n = self.u32()? as usize;
        let (s, rest) = self
            .0
            .split_at_checked(n)
            .ok_or_else(|| bad("a message ended early"))?;
        self.0 = rest;
        Ok(String::from_utf8_lossy(s).into_owned())
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("ssh master: {what}"))
}

async fn write_packet(s: &mut UnixStream, body: &[u8]) -> io::Result<()> {
    let mut p = Vec::with_capacity(body.len() + 4);
    put_str(&mut p, body);
    s.write_all(&p).await
}

async fn read_packet(s: &mut UnixStream) -> io::Result<Vec<u8>> {
    let n = s.read_u32().await? as usize;
    if n > MAX_PACKET {
        return Err(bad("a message too large"));
    }
    let mut body = vec![0; n];
    s.read_exact(&mut body).await?;
    Ok(body)
}

/// Connects to the master behind `socket` and exchanges hellos.
async fn connect(socket: &Path) -> io::Result<UnixStream> {
    let mut s = UnixStream::connect(socket).await?;
    let mut hello = vec![];
    put_u32(&mut hello, HELLO);
    put_u32(&mut hello, VERSION);
    write_packet(&mut s, &hello).await?;
    let reply = read_packet(&mut s).await?;
    let mut f = Fields(&reply);
    if f.u32()? != HELLO {
        return Err(bad("no hello"));
    }
    let version = f.u32()?;
    if version != VERSION {
        return Err(bad(&format!("protocol {version}, not {VERSION}")));
    }
    Ok(s)
}

/// Passes one descriptor over the socket, with one byte, as ssh's `mm_send_fd` does.
async fn send_fd(s: &UnixStream, fd: &OwnedFd) -> io::Result<()> {
    use nix::sys::socket::{ControlMessage, MsgFlags, UnixAddr, sendmsg};
    let raw = [fd.as_raw_fd()];
    loop {
        s.writable().await?;
        let sent = s.try_io(tokio::io::Interest::WRITABLE, || {
            sendmsg::<UnixAddr>(
                s.as_raw_fd(),
                &[IoSlice::new(&[0])],
                &[ControlMessage::ScmRights(&raw)],
                MsgFlags::empty(),
                None,
            )
            .map_err(io::Error::from)
        });
        match sent {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Whether the master behind `socket` answers an alive check.
pub async fn alive(socket: &Path) -> bool {
    let check = async {
        let mut s = connect(socket).await?;
        let mut m = vec![];
        put_u32(&mut m, ALIVE_CHECK);
        put_u32(&mut m, 1);
        write_packet(&mut s, &m).await?;
        let reply = read_packet(&mut s).await?;
        io::Result::Ok(Fields(&reply).u32()? == S_ALIVE)
    };
    matches!(tokio::time::timeout(OPEN_WITHIN, check).await, Ok(Ok(true)))
}

/// A session running on the master's host.
pub struct Session {
    /// `Some` once the session has ended, with its exit value if the master sent one.
    exit: watch::Receiver<Option<Option<u32>>>,
    /// Holds the control connection: ending it (dropping the session) ends the session.
    follower: tokio::task::JoinHandle<()>,
}

impl Session {
    /// Waits for the session's end: the command's exit value, or `None` when the session
    /// ended without one (the master or its connection went away, or it was closed here).
    pub async fn wait(&mut self) -> Option<u32> {
        let _ = self.exit.wait_for(Option::is_some).await;
        self.exit.borrow().flatten()
    }

    /// Whether it has ended.
    pub fn ended(&self) -> bool {
        self.exit.borrow().is_some() || self.follower.is_finished()
    }

    /// Ends it from this side: the connection closes, and the master closes the session.
    pub fn close(&mut self) {
        self.follower.abort();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

/// Opens a session running `command` on the master's host with `env` (`NAME=value`, sent as
/// ssh sends its `SetEnv`/`SendEnv`), its standard input, output and error `stdio`.
pub async fn open(
    socket: &Path,
    command: &str,
    env: &[String],
    stdio: [OwnedFd; 3],
) -> io::Result<Session> {
    let opened = async {
        let mut s = connect(socket).await?;
        let mut m = vec![];
        put_u32(&mut m, NEW_SESSION);
        put_u32(&mut m, 1);
        put_str(&mut m, b""); // reserved
        for flag in [0, 0, 0, 0] {
            // tty, X11, agent forwarding, subsystem: none
            put_u32(&mut m, flag);
        }
        put_u32(&mut m, NO_ESCAPE);
        put_str(&mut m, b""); // terminal type
        put_str(&mut m, command.as_bytes());
        for e in env {
            put_str(&mut m, e.as_bytes());
        }
        write_packet(&mut s, &m).await?;
        for fd in &stdio {
            send_fd(&s, fd).await?;
        }
        let reply = read_packet(&mut s).await?;
        let mut f = Fields(&reply);
        let (kind, _rid) = (f.u32()?, f.u32()?);
        match kind {
            S_SESSION_OPENED => Ok((s, f.u32()?)),
            S_PERMISSION_DENIED | S_FAILURE => Err(io::Error::other(format!(
                "ssh master refused the session: {}",
                f.string()?
            ))),
            other => Err(bad(&format!("unexpected answer {other:#010x}"))),
        }
    };
    let (mut s, sid) = tokio::time::timeout(OPEN_WITHIN, opened)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "ssh master did not answer"))??;
    // The master holds its own copies of the descriptors now.
    drop(stdio);
    let (tx, exit) = watch::channel(None);
    let follower = tokio::spawn(async move {
        let mut value = None;
        while let Ok(p) = read_packet(&mut s).await {
            let mut f = Fields(&p);
            match (f.u32(), f.u32()) {
                (Ok(S_EXIT_MESSAGE), Ok(id)) if id == sid => value = f.u32().ok(),
                (Ok(S_TTY_ALLOC_FAIL), _) => {}
                _ => break,
            }
        }
        // The master closes the connection after the exit message, once the output is out.
        let _ = tx.send(Some(value));
    });
    Ok(Session { exit, follower })
}

/// Runs `command` on the master's host with nothing on its standard input and its output
/// discarded (a remote kill); its exit value.
pub async fn run_quiet(socket: &Path, command: &str, env: &[String]) -> io::Result<u32> {
    let null = |write: bool| {
        std::fs::OpenOptions::new()
            .read(!write)
            .write(write)
            .open("/dev/null")
            .map(OwnedFd::from)
    };
    let mut session = open(
        socket,
        command,
        env,
        [null(false)?, null(true)?, null(true)?],
    )
    .await?;
    tokio::time::timeout(Duration::from_secs(30), session.wait())
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the remote command did not end"))?
        .ok_or_else(|| io::Error::other("the ssh master connection closed"))
}
