//! Read (and decompress) the input on a second thread while the first one parses, so I/O and
//! gzip inflation overlap with scanning. Chunks are recycled; at most two are in flight.

use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use super::json_reader::ChunkRead;

const CHUNK: usize = 4 << 20;

/// A `Read` fed by a background thread that reads `inner` ahead.
pub struct Prefetch {
    full: Receiver<std::io::Result<Vec<u8>>>,
    empty: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Prefetch {
    /// Start reading `inner` on a new thread.
    pub fn new(mut inner: Box<dyn Read + Send>) -> Self {
        let (full_tx, full) = sync_channel::<std::io::Result<Vec<u8>>>(2);
        let (empty, empty_rx) = sync_channel::<Vec<u8>>(3);
        std::thread::spawn(move || loop {
            let mut buf = empty_rx
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
            buf.resize(CHUNK, 0);
            let mut filled = 0;
            // Fill the chunk; a short read is not the end unless it returns 0.
            let result = loop {
                match inner.read(&mut buf[filled..]) {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        filled += n;
                        if filled == buf.len() {
                            break Ok(());
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            buf.truncate(filled);
            let last = filled == 0;
            let msg = match result {
                Ok(()) => Ok(buf),
                Err(e) => Err(e),
            };
            let failed = msg.is_err();
            // The parser hung up (finished or cancelled): stop reading.
            if full_tx.send(msg).is_err() || last || failed {
                return;
            }
        });
        Self {
            full,
            empty,
            current: Vec::new(),
            pos: 0,
            done: false,
        }
    }

    /// Make the next chunk current once this one is used up (handing the used one back to
    /// the thread to fill again); false at the end of the stream.
    fn next_chunk(&mut self) -> std::io::Result<bool> {
        while self.pos == self.current.len() {
            if self.done {
                return Ok(false);
            }
            let used = std::mem::take(&mut self.current);
            let _ = self.empty.try_send(used);
            match self.full.recv() {
                Ok(Ok(chunk)) => {
                    if chunk.is_empty() {
                        self.done = true;
                    }
                    self.current = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

impl Read for Prefetch {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if !self.next_chunk()? {
            return Ok(0);
        }
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl ChunkRead for Prefetch {
    /// A whole chunk is swapped for `buf`, which is filled again in its turn: no copy. The
    /// rest of a chunk partly read (the file's head, read for sniffing) is copied.
    fn read_chunk(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        if !self.next_chunk()? {
            return Ok(0);
        }
        if self.pos > 0 {
            buf.clear();
            buf.extend_from_slice(&self.current[self.pos..]);
        } else {
            std::mem::swap(&mut self.current, buf);
        }
        // Used up: handed back to the thread on the next call.
        self.pos = self.current.len();
        Ok(buf.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_everything_in_order() {
        let data: Vec<u8> = (0..10_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut p = Prefetch::new(Box::new(std::io::Cursor::new(data.clone())));
        let mut out = Vec::new();
        p.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
    }

    /// Chunks taken whole (swapped for the caller's buffer), after a head read by copying and
    /// with a short caller buffer between, give the same bytes in the same order.
    #[test]
    fn chunks_handed_over_equal_the_bytes_read() {
        let data: Vec<u8> = (0..10_000_000u32).map(|i| (i % 253) as u8).collect();
        let mut p = Prefetch::new(Box::new(std::io::Cursor::new(data.clone())));
        let mut out = vec![0u8; 4096];
        p.read_exact(&mut out).unwrap();
        let mut buf = vec![0u8; 10];
        loop {
            let n = p.read_chunk(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            // What the caller hands back may be short or long: the stream does not care.
            buf.truncate(out.len() % 7);
        }
        assert_eq!(out, data);
    }
}
