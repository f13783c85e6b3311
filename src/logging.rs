//! Where the log goes: `cocpit serve` and the CLI log to standard error; the console logs to a
//! size-capped file in the data dir, never onto its own screen. `RUST_LOG` overrides the level.

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

/// Logs to standard error at `default` (or `RUST_LOG`).
pub fn to_stderr(default: &str) -> Result<(), String> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(default)?)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    Ok(())
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
