//! Where captures go: names we make up (`<prefix>-<NNN>.<ext>`, the next number not taken in
//! the folder), written to a hidden temporary file in the same folder, then synced and renamed
//! into place, so a reader never sees half a snapshot and a stopped capture leaves nothing.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::CaptureError;

/// Numbers go up to this; a folder with that many captures of one prefix is full.
const MAX_NUMBER: u32 = 99_999;

/// True when `prefix` is safe as the start of a file name: letters, digits, `-`, `_` and `.`,
/// not starting with a dot (no paths, no hidden files).
pub fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && !prefix.starts_with('.')
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The first `dir/<prefix>-<NNN>.<extension>` that does not exist yet (NNN from 001).
pub fn next_free_name(dir: &Path, prefix: &str, extension: &str) -> Result<PathBuf, CaptureError> {
    (1..=MAX_NUMBER)
        .map(|n| dir.join(format!("{prefix}-{n:03}.{extension}")))
        .find(|p| !p.exists())
        .ok_or_else(|| CaptureError::Options(format!("{} is full of {prefix}-*", dir.display())))
}

/// A capture being written: removed on drop unless [`PartialFile::commit`]ted.
pub struct PartialFile {
    temp: PathBuf,
    writer: Option<BufWriter<File>>,
    written: u64,
}

impl PartialFile {
    /// Start a hidden temporary file for `name` in `dir`.
    pub fn create(dir: &Path, name: &str) -> Result<Self, CaptureError> {
        let temp = dir.join(format!(".{name}.{}.partial", std::process::id()));
        let file = File::create(&temp).map_err(|source| CaptureError::Io {
            path: temp.clone(),
            source,
        })?;
        Ok(Self {
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
            temp,
            written: 0,
        })
    }

    /// Append `bytes`.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), CaptureError> {
        if let Some(w) = &mut self.writer {
            w.write_all(bytes).map_err(|source| CaptureError::Io {
                path: self.temp.clone(),
                source,
            })?;
        }
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The temporary file's path.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Flush, sync to disk and rename to `path` (in the same folder).
    pub fn commit(mut self, path: &Path) -> Result<(), CaptureError> {
        let io = |source| CaptureError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(w) = self.writer.take() {
            let file = w.into_inner().map_err(|e| io(e.into_error()))?;
            file.sync_all().map_err(io)?;
        }
        std::fs::rename(&self.temp, path).map_err(io)?;
        // The rename itself is durable once the folder is synced (best effort: not every
        // platform can open a folder).
        if let Some(dir) = path.parent() {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        self.temp.clear();
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            drop(self.writer.take());
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("heapsight-out-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn prefixes_are_plain_names() {
        assert!(valid_prefix("capture"));
        assert!(valid_prefix("app-v1.2_x"));
        for bad in ["", ".hidden", "a/b", "..", "a\\b", "x y", "é"] {
            assert!(!valid_prefix(bad), "{bad:?}");
        }
    }

    #[test]
    fn commit_renames_and_drop_removes() {
        let dir = temp_dir("commit");
        let first = next_free_name(&dir, "cap", "heapsnapshot").unwrap();
        assert_eq!(first, dir.join("cap-001.heapsnapshot"));
        let mut f = PartialFile::create(&dir, "cap-001.heapsnapshot").unwrap();
        f.write(b"{}").unwrap();
        f.commit(&first).unwrap();
        assert_eq!(std::fs::read(&first).unwrap(), b"{}");
        assert_eq!(
            next_free_name(&dir, "cap", "heapsnapshot").unwrap(),
            dir.join("cap-002.heapsnapshot")
        );
        let mut f = PartialFile::create(&dir, "cap-002.heapsnapshot").unwrap();
        f.write(b"{\"half").unwrap();
        let temp = f.temp_path().to_path_buf();
        assert!(temp.exists());
        drop(f);
        assert!(!temp.exists());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
