//! Where the log goes: `cocpit serve` and the CLI log to standard error (written by a thread of
//! its own, see [`Background`]); the console logs to a size-capped file in the data dir, never
//! onto its own screen. `RUST_LOG` overrides the level.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// Bytes the console's log grows to before it is moved to `cocpit.log.1` (one old file kept).
pub const LOG_CAP: u64 = 8 * 1024 * 1024;

fn filter(default: &str) -> Result<EnvFilter, String> {
    match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => {
            EnvFilter::try_new(&v).map_err(|e| format!("RUST_LOG {v:?}: {e}"))
        }
        _ => EnvFilter::try_new(default).map_err(|e| format!("log level {default:?}: {e}")),
    }
}

/// Logs to standard error at `default` (or `RUST_LOG`), through [`Background`].
pub fn to_stderr(default: &str) -> Result<(), String> {
    let writer = BACKGROUND.get_or_init(|| Background::start(std::io::stderr()));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(default)?)
        .with_writer(writer.clone())
        .with_ansi(false)
        .try_init();
    Ok(())
}

static BACKGROUND: std::sync::OnceLock<Background> = std::sync::OnceLock::new();

/// Writes what is logged to standard error so far, waiting (a second at most) for it: before
/// the process exits.
pub fn flush() {
    if let Some(b) = BACKGROUND.get() {
        b.flush(std::time::Duration::from_secs(1));
    }
}

/// Lines queued for the writer thread at most: past it, lines are dropped and counted.
pub const QUEUE: usize = 16 * 1024;

/// How long the writer lets lines gather after a write.
const LINGER: std::time::Duration = std::time::Duration::from_millis(5);

enum Msg {
    Line(Vec<u8>),
    Flushed(std::sync::mpsc::Sender<()>),
}

/// A log writer with a thread of its own: logging a line costs a copy into a queue, not a
/// write to a file or a pipe (a request log line per request was a fifth of the cost of an
/// alarm push); the thread writes what is queued in one write, in order. A full queue drops
/// lines rather than slow the server, and says how many it dropped.
#[derive(Clone)]
pub struct Background {
    tx: std::sync::mpsc::SyncSender<Msg>,
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Background {
    pub fn start(mut out: impl Write + Send + 'static) -> Background {
        use std::sync::atomic::Ordering;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(QUEUE);
        let dropped = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let lost = dropped.clone();
        let _ = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || {
                let mut batch = Vec::with_capacity(64 * 1024);
                let mut acks = vec![];
                while let Ok(first) = rx.recv() {
                    for m in std::iter::once(first).chain(rx.try_iter()) {
                        match m {
                            Msg::Line(l) => batch.extend_from_slice(&l),
                            Msg::Flushed(ack) => acks.push(ack),
                        }
                        if batch.len() >= 64 * 1024 {
                            break;
                        }
                    }
                    let n = lost.swap(0, Ordering::Relaxed);
                    if n > 0 {
                        batch.extend_from_slice(
                            format!("{n} log lines dropped (the log could not keep up)\n")
                                .as_bytes(),
                        );
                    }
                    let _ = out.write_all(&batch).and_then(|()| out.flush());
                    batch.clear();
                    for ack in acks.drain(..) {
                        let _ = ack.send(());
                    }
                    // Lines that come meanwhile wait for the next write: a busy server wakes
                    // this thread a few hundred times a second, not once a line.
                    std::thread::sleep(LINGER);
                }
            });
        Background { tx, dropped }
    }

    /// Waits until every line queued before the call is written, `within` at most (also
    /// when the queue is full behind a writer that cannot write).
    pub fn flush(&self, within: std::time::Duration) {
        use std::sync::mpsc::TrySendError;
        let deadline = std::time::Instant::now() + within;
        let (ack, done) = std::sync::mpsc::channel();
        let mut msg = Msg::Flushed(ack);
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Full(m)) if std::time::Instant::now() < deadline => {
                    msg = m;
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Err(_) => return,
            }
        }
        let _ = done.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()));
    }
}

/// One log line on its way to the queue (the formatter writes a line whole).
pub struct Line<'a> {
    buf: Vec<u8>,
    to: &'a Background,
}

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let line = std::mem::take(&mut self.buf);
        if self.to.tx.try_send(Msg::Line(line)).is_err() {
            self.to
                .dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Background {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line {
            buf: Vec::new(),
            to: self,
        }
    }
}

/// Logs to `path`, moved aside once it passes [`LOG_CAP`].
pub fn to_file(path: &Path, default: &str) -> Result<(), String> {
    let file = CappedFile::open(path.to_path_buf(), LOG_CAP)
        .map_err(|e| format!("log file {}: {e}", path.display()))?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(default)?)
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .try_init();
    Ok(())
}

/// A log file that never grows past its cap: when a write would pass it, the file becomes
/// `NAME.1` (replacing the older one) and a new file starts.
pub struct CappedFile {
    path: PathBuf,
    file: std::fs::File,
    written: u64,
    cap: u64,
}

impl CappedFile {
    pub fn open(path: PathBuf, cap: u64) -> std::io::Result<CappedFile> {
        let file = Self::append(&path)?;
        let written = file.metadata()?.len();
        Ok(CappedFile {
            path,
            file,
            written,
            cap,
        })
    }

    fn append(path: &Path) -> std::io::Result<std::fs::File> {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        let mut old = self.path.clone().into_os_string();
        old.push(".1");
        std::fs::rename(&self.path, old)?;
        self.file = Self::append(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

impl Write for CappedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written > 0 && self.written + buf.len() as u64 > self.cap {
            self.rotate()?;
        }
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shared buffer standing in for standard error.
    #[derive(Clone, Default)]
    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn background_lines_arrive_whole_and_in_order_once_flushed() {
        use tracing_subscriber::fmt::MakeWriter;
        let sink = Sink::default();
        let b = Background::start(sink.clone());
        for i in 0..1000 {
            let mut w = b.make_writer();
            write!(w, "line {i:04}").unwrap();
            writeln!(w, " end").unwrap();
        }
        b.flush(std::time::Duration::from_secs(10));
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1000, "{text}");
        for (i, l) in lines.iter().enumerate() {
            assert_eq!(*l, format!("line {i:04} end"));
        }
    }

    /// A queue that cannot keep up drops lines, never blocks the logger, and says how many.
    #[test]
    fn a_full_queue_drops_lines_and_says_how_many() {
        use tracing_subscriber::fmt::MakeWriter;
        /// Blocks every write until told to go on.
        struct Stuck(std::sync::mpsc::Receiver<()>, Sink);
        impl Write for Stuck {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                let _ = self.0.recv();
                self.1.write(buf)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (go, wait) = std::sync::mpsc::channel();
        let sink = Sink::default();
        let b = Background::start(Stuck(wait, sink.clone()));
        // The writer takes a batch and blocks on it; the queue fills up behind it.
        for i in 0..2 * QUEUE + 10_000 {
            writeln!(b.make_writer(), "line {i}").unwrap();
        }
        for _ in 0..1000 {
            go.send(()).unwrap();
        }
        b.flush(std::time::Duration::from_secs(10));
        writeln!(b.make_writer(), "after").unwrap();
        b.flush(std::time::Duration::from_secs(10));
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("log lines dropped"), "no drop reported");
        assert!(
            text.contains("\nafter\n"),
            "a line after the drops is written"
        );
    }

    /// A writer that cannot write (a pipe nobody reads) does not hold up the exit: the flush
    /// gives up after its bound.
    #[test]
    fn a_flush_behind_a_stuck_writer_gives_up_in_time() {
        use tracing_subscriber::fmt::MakeWriter;
        struct Never;
        impl Write for Never {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                std::thread::park();
                Ok(0)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let b = Background::start(Never);
        for i in 0..2 * QUEUE {
            writeln!(b.make_writer(), "line {i}").unwrap();
        }
        // Returns (bounded) instead of blocking on the full queue for ever.
        b.flush(std::time::Duration::from_millis(50));
    }

    #[test]
    fn a_capped_file_moves_aside_and_never_passes_its_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cocpit.log");
        let mut f = CappedFile::open(path.clone(), 100).unwrap();
        for i in 0..30 {
            writeln!(f, "line {i:03}").unwrap();
        }
        let now = std::fs::read_to_string(&path).unwrap();
        let old = std::fs::read_to_string(dir.path().join("cocpit.log.1")).unwrap();
        assert!(
            now.len() <= 100 && old.len() <= 100,
            "{} {}",
            now.len(),
            old.len()
        );
        assert!(now.ends_with("line 029\n"), "{now}");
        assert!(old.ends_with(&format!("line {:03}\n", 29 - now.lines().count())));
    }
}
