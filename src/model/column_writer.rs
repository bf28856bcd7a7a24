//! A column filled front to back (a loader's edge targets, kinds and names, its nodes' names
//! and ids) that goes straight to a spill file (see `super::spill`) as it fills: values wait
//! in a buffer of [`BUFFER_BYTES`], a thread of the column's own writes each full buffer
//! while the loader fills the next, and the finished column is the file mapped back. The
//! values never sit in the process's own memory, so a big heap pays neither for that memory
//! nor for copying it to the file later, which [`Column::spill_to`](super::Column) does; and the
//! loader does not wait for the page cache (new pages for it cost up to 2 s a GB on the
//! machine measured).
//!
//! If a write fails (a full disk) the writer reads back what it wrote and goes on in memory:
//! the column is the same either way, only where it lives differs.

use super::column::{le_bytes, write_pieces, Column, Pod};
use std::fs::File;
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Bytes of a column's buffer, written in one call. Bigger writes make the page cache take
/// bigger folios, costly on the machine measured (see `super::column::WRITE_PIECE`); with
/// smaller ones the dominator search, which reads the edge targets and kinds back through
/// their maps, met more page faults. On the 1.58 GB document store, reading the edges took
/// 0.74-0.91 s with buffers of 256 KiB against 1.70-1.74 s with 1 MiB ones, and 0.79-0.96 s
/// with 64 KiB ones, whose search was a little slower (three runs each, taking turns).
pub(crate) const BUFFER_BYTES: usize = 256 << 10;

/// Full buffers on their way to the writing thread: with the one being written and the one
/// being filled, a megabyte a column at most.
const IN_FLIGHT: usize = 2;

/// Values appended one slice at a time, kept in memory or written to a file.
pub struct ColumnWriter<T: Pod>(Sink<T>);

enum Sink<T: Pod> {
    Memory(Vec<T>),
    File {
        /// Values not yet handed to the writing thread: at most a write's worth.
        staged: Vec<T>,
        /// Values handed over.
        sent: usize,
        writer: Writer<T>,
    },
}

/// The thread that writes a column's buffers, in order.
struct Writer<T: Pod> {
    full: SyncSender<Vec<T>>,
    /// Written buffers, back for reuse.
    empty: Receiver<Vec<T>>,
    thread: JoinHandle<Written<T>>,
}

/// What the writing thread did: the file, the values in it, and after a failed write every
/// buffer from the failed one on.
struct Written<T> {
    file: File,
    values: usize,
    unwritten: Option<Vec<Vec<T>>>,
}

impl<T: Pod> Writer<T> {
    fn start(file: File) -> std::io::Result<Self> {
        let (full, to_write) = sync_channel::<Vec<T>>(IN_FLIGHT);
        let (give_back, empty) = channel();
        let thread = std::thread::Builder::new()
            .name("heapsight-column-writer".into())
            .spawn(move || {
                let mut done = Written {
                    file,
                    values: 0,
                    unwritten: None,
                };
                for mut buf in to_write {
                    if let Some(kept) = &mut done.unwritten {
                        kept.push(buf);
                        continue;
                    }
                    let at = done.values * std::mem::size_of::<T>();
                    // After a failure the rest stays in memory (see `finish`): the error itself
                    // changes nothing.
                    if write_pieces(&done.file, at, le_bytes(&buf), BUFFER_BYTES).is_ok() {
                        done.values += buf.len();
                        buf.clear();
                        let _ = give_back.send(buf);
                    } else {
                        done.unwritten = Some(vec![buf]);
                    }
                }
                done
            })?;
        Ok(Self {
            full,
            empty,
            thread,
        })
    }
}

impl<T: Pod> ColumnWriter<T> {
    /// A column kept in memory, with room for `cap` values.
    pub fn in_memory(cap: usize) -> Self {
        Self(Sink::Memory(Vec::with_capacity(cap)))
    }

    /// A column written to `file` (just created, empty, and private to this process); kept in
    /// memory when no thread can be started to write it.
    pub fn to_file(file: File) -> Self {
        match Writer::start(file) {
            Ok(writer) => Self(Sink::File {
                staged: Vec::with_capacity(Self::piece()),
                sent: 0,
                writer,
            }),
            Err(_) => Self::in_memory(0),
        }
    }

    /// Values a write.
    fn piece() -> usize {
        BUFFER_BYTES / std::mem::size_of::<T>()
    }

    /// Values appended so far.
    pub fn len(&self) -> usize {
        match &self.0 {
            Sink::Memory(v) => v.len(),
            Sink::File { staged, sent, .. } => sent + staged.len(),
        }
    }

    /// True before the first value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values, when they are kept in memory (a prefault helper fills their spare room
    /// ahead; tests read them).
    pub fn in_memory_values(&self) -> Option<&Vec<T>> {
        match &self.0 {
            Sink::Memory(v) => Some(v),
            _ => None,
        }
    }

    /// Append `values`.
    pub fn extend_from_slice(&mut self, mut values: &[T]) {
        while !values.is_empty() {
            match &mut self.0 {
                Sink::Memory(v) => return v.extend_from_slice(values),
                Sink::File { staged, .. } => {
                    let take = (Self::piece() - staged.len()).min(values.len());
                    staged.extend_from_slice(&values[..take]);
                    values = &values[take..];
                    self.send_if_full();
                }
            }
        }
    }

    /// Append `values`.
    pub fn extend(&mut self, values: impl IntoIterator<Item = T>) {
        let mut values = values.into_iter();
        loop {
            match &mut self.0 {
                Sink::Memory(v) => return v.extend(values),
                Sink::File { staged, .. } => {
                    let room = Self::piece() - staged.len();
                    staged.extend(values.by_ref().take(room));
                    if staged.len() < Self::piece() {
                        return;
                    }
                    self.send_if_full();
                }
            }
        }
    }

    /// Append a value.
    pub fn push(&mut self, value: T) {
        self.extend_from_slice(std::slice::from_ref(&value));
    }

    /// Hand a full buffer to the writing thread and start another (one it gave back, if any).
    fn send_if_full(&mut self) {
        let Sink::File {
            staged,
            sent,
            writer,
        } = &mut self.0
        else {
            return;
        };
        if staged.len() < Self::piece() {
            return;
        }
        let next = writer
            .empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(Self::piece()));
        let full = std::mem::replace(staged, next);
        *sent += full.len();
        // The thread only stops once this side hangs up, so a send never fails; if it did,
        // `finish` would find the values short and say so.
        let _ = writer.full.send(full);
    }

    /// The finished column: the file mapped back, or the values in memory.
    pub fn finish(self) -> std::io::Result<Column<T>> {
        let (staged, sent, writer) = match self.0 {
            Sink::Memory(mut v) => {
                v.shrink_to_fit();
                return Ok(v.into());
            }
            Sink::File {
                staged,
                sent,
                writer,
            } => (staged, sent, writer),
        };
        let len = sent + staged.len();
        let _ = writer.full.send(staged);
        drop(writer.full);
        let done = writer
            .thread
            .join()
            .map_err(|_| std::io::Error::other("the thread writing a column failed"))?;
        let column = match done.unwritten {
            // Go on in memory: what was written, then what was not.
            Some(kept) => {
                let mut values = Column::<T>::map_file(&done.file, done.values)?.into_vec();
                values.extend(kept.into_iter().flatten());
                values.into()
            }
            None => Column::map_file(&done.file, done.values)?,
        };
        if column.len() != len {
            return Err(std::io::Error::other("a written column came back short"));
        }
        Ok(column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: u32) -> Vec<u32> {
        (0..n).map(|i| i.wrapping_mul(2_654_435_761)).collect()
    }

    /// Slices of every length, across write pieces, end as the same column in memory and in a
    /// file, and nothing is left in the folder.
    #[test]
    fn written_columns_equal_columns_in_memory() {
        let dir = std::env::temp_dir().join(format!("heapsight-writer-{}", std::process::id()));
        let spill = crate::model::spill::SpillDir::at(&dir);
        let want = values(700_001);
        let mut memory = ColumnWriter::in_memory(10);
        let mut file = ColumnWriter::to_file(spill.new_file().unwrap());
        let (mut at, mut step) = (0, 1);
        while at < want.len() {
            let end = (at + step).min(want.len());
            memory.extend_from_slice(&want[at..end]);
            file.extend_from_slice(&want[at..end]);
            (at, step) = (end, step * 3 % 400_007 + 1);
            assert_eq!(file.len(), at);
        }
        file.push(7);
        file.extend([8, 9]);
        memory.extend([7, 8, 9]);
        assert!(file.in_memory_values().is_none());
        let (memory, file) = (memory.finish().unwrap(), file.finish().unwrap());
        assert!(file.is_mapped() && !memory.is_mapped());
        assert_eq!(memory, file);
        assert_eq!(file.len(), want.len() + 3);
        if cfg!(unix) {
            assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        }
        let empty: ColumnWriter<u8> = ColumnWriter::to_file(spill.new_file().unwrap());
        assert!(empty.finish().unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A file that can't be written (opened read-only here): the writer goes on in memory
    /// with every value.
    #[test]
    fn a_failed_write_goes_on_in_memory() {
        let dir = std::env::temp_dir().join(format!("heapsight-ro-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ro");
        std::fs::write(&path, b"").unwrap();
        let mut w = ColumnWriter::to_file(File::open(&path).unwrap());
        let want = values(600_000);
        w.extend_from_slice(&want);
        let got = w.finish().unwrap();
        assert!(!got.is_mapped());
        assert_eq!(got, want);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
