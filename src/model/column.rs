//! A per-node or per-edge array that is either owned (built by a loader or an analysis) or
//! borrowed from a memory-mapped index file (see `store::index_cache`), so reopening a big
//! snapshot neither copies its arrays nor pays for the pages no view touches.
//!
//! It reads like a slice (`Deref<Target = [T]>`) and offers the few `Vec` methods the loaders
//! use; writing to a mapped column first copies it into an owned one. A column can also be
//! shared (see [`Column::share`]): its clones then cost nothing until one of them is written.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

mod sealed {
    pub trait Sealed {}
    impl Sealed for u8 {}
    impl Sealed for u32 {}
    impl Sealed for u64 {}
}

/// Element types a column can map from a file: plain little-endian integers, valid for every
/// bit pattern.
pub trait Pod:
    sealed::Sealed + Copy + Default + PartialEq + std::fmt::Debug + Send + Sync + 'static
{
}

/// Bytes a `write` call when a whole column goes to a file (see [`Column::spill_to`]) or into
/// the index cache. On Linux the page cache takes a folio as big as the write (up to 2 MiB),
/// and on the 2-core VM heapsight is measured on, big folios cost far more (most likely cut
/// from free blocks the guest has reported to its host, which backs them anew on first
/// touch; small ones come from pages freed lately): in a small C program, 4 MiB writes
/// filled the page cache at 0.35 GB/s, 1 MiB writes at 2.6 GB/s, 64-256 KiB writes at
/// 4 GB/s. In the load of the 1.58 GB document store the retainers' spill (311 MB) took
/// 0.67-0.94 s a run in megabyte writes, 0.09-0.28 s in 64 KiB ones. Much smaller writes
/// cost a system call each 4 KiB and, mapped back, more page faults.
pub(crate) const WRITE_PIECE: usize = 64 << 10;

/// Write `bytes` into `file` from byte `at` on, `piece` bytes a call (see [`WRITE_PIECE`]).
pub(crate) fn write_pieces(
    file: &std::fs::File,
    at: usize,
    bytes: &[u8],
    piece: usize,
) -> std::io::Result<()> {
    let piece = piece.max(1);
    for (i, chunk) in bytes.chunks(piece).enumerate() {
        let offset = (at + i * piece) as u64;
        #[cfg(unix)]
        std::os::unix::fs::FileExt::write_all_at(file, chunk, offset)?;
        #[cfg(not(unix))]
        {
            use std::io::{Seek, Write};
            let mut f = file;
            f.seek(std::io::SeekFrom::Start(offset))?;
            f.write_all(chunk)?;
        }
    }
    Ok(())
}

/// Where a column of `bytes` bytes split for two writers at byte `cut` is cut: moved down to
/// a page boundary, so the second part can be mapped after the first; all of it in the first
/// part off Linux, or when no page boundary is left before `cut`.
fn head_bytes(cut: usize, bytes: usize) -> usize {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: sysconf only reads a system setting.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if let Ok(page) = usize::try_from(page) {
            let cut = cut.min(bytes) / page.max(1) * page;
            if cut > 0 {
                return cut;
            }
        }
    }
    let _ = cut;
    bytes
}

/// The bytes of `v` as they lie in memory: its little-endian encoding on a little-endian host
/// (the only kind that writes index files).
#[cfg(target_endian = "little")]
pub fn le_bytes<T: Pod>(v: &[T]) -> &[u8] {
    // SAFETY: `Pod` types are plain integers (sealed: u8, u32, u64) with no padding, so every
    // byte of the slice is initialised; u8 has alignment 1 and the length is the slice's size.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}
impl Pod for u8 {}
impl Pod for u32 {}
impl Pod for u64 {}

/// An array of `T`, owned or borrowed from a mapped file.
pub struct Column<T: Pod>(Repr<T>);

enum Repr<T> {
    Owned(Vec<T>),
    /// Owned, with clones sharing the values until one is written (copy on write).
    Shared(Arc<Vec<T>>),
    /// `len` elements at byte `offset` of `map`; checked in bounds and aligned when made.
    Mapped {
        map: Arc<memmap2::Mmap>,
        offset: usize,
        len: usize,
    },
}

impl<T: Pod> Column<T> {
    /// An empty owned column.
    pub fn new() -> Self {
        Self(Repr::Owned(Vec::new()))
    }

    /// An empty owned column with room for `n` values.
    pub fn with_capacity(n: usize) -> Self {
        Self(Repr::Owned(Vec::with_capacity(n)))
    }

    /// `len` values of `T` at byte `offset` of `map`; `None` when out of bounds, misaligned, or
    /// on a big-endian machine (the file is little-endian).
    pub fn mapped(map: Arc<memmap2::Mmap>, offset: usize, len: usize) -> Option<Self> {
        let size = std::mem::size_of::<T>();
        let end = len.checked_mul(size)?.checked_add(offset)?;
        let aligned = (map.as_ptr() as usize).checked_add(offset)? % std::mem::align_of::<T>() == 0;
        if cfg!(target_endian = "big") || end > map.len() || !aligned {
            return None;
        }
        Some(Self(Repr::Mapped { map, offset, len }))
    }

    /// True when the values live in a mapped file.
    pub fn is_mapped(&self) -> bool {
        matches!(self.0, Repr::Mapped { .. })
    }

    /// Let clones share the values: an analysis that starts from a copy of a graph column
    /// (DevTools' shallow sizes start as the self sizes) then pays for its own array only if it
    /// changes a value. Mapped columns clone cheaply already and stay as they are.
    pub fn share(&mut self) {
        if let Repr::Owned(v) = &mut self.0 {
            self.0 = Repr::Shared(Arc::new(std::mem::take(v)));
        }
    }

    /// Move the values to the file `file` (just created, empty, and private to this process)
    /// and map them back: the kernel then keeps in memory only the pages in use, and
    /// [`release`](Self::release) hands them back. Nothing changes when the column is empty,
    /// shared or already mapped.
    pub(crate) fn spill_to(&mut self, file: std::fs::File) -> std::io::Result<()> {
        let Some(bytes) = self.owned_bytes() else {
            return Ok(());
        };
        write_pieces(&file, 0, bytes, WRITE_PIECE)?;
        self.map_back(&file)
    }

    /// [`spill_to`](Self::spill_to) on two threads: this one writes the values before `cut`
    /// to `file`, the other runs `first` (another column's spill) and then writes the rest to
    /// `tail_file`, so that the two share the copying into the page cache. The tail has a file
    /// of its own because writes to one file queue for its lock (the waiting thread spins);
    /// it is mapped right after the head, so the cut is moved down to a page boundary. (Off
    /// Linux the head takes every value.) `first` runs whatever this column is.
    pub(crate) fn spill_split_to(
        &mut self,
        file: std::fs::File,
        tail_file: std::fs::File,
        cut: usize,
        first: impl FnOnce() -> std::io::Result<()> + Send,
    ) -> std::io::Result<()> {
        let Some(bytes) = self.owned_bytes() else {
            return first();
        };
        let cut = head_bytes(cut.min(self.len()) * std::mem::size_of::<T>(), bytes.len());
        let tail =
            || first().and_then(|()| write_pieces(&tail_file, 0, &bytes[cut..], WRITE_PIECE));
        let head = || write_pieces(&file, 0, &bytes[..cut], WRITE_PIECE);
        let (tail, head) = crate::parallel::beside(tail, head);
        head.and(tail)?;
        self.map_back_joined(&file, &tail_file, cut)
    }

    /// The bytes of an owned column with values, which a spill moves; `None` for any other.
    fn owned_bytes(&self) -> Option<&[u8]> {
        match &self.0 {
            Repr::Owned(v) if !v.is_empty() => Some(le_bytes(v)),
            _ => None,
        }
    }

    /// Read the column from `file`, which holds all its values, through a map.
    fn map_back(&mut self, file: &std::fs::File) -> std::io::Result<()> {
        *self = Self::map_file(file, self.len())?;
        Ok(())
    }

    /// The first `len` values of `file`, a spill file (this process's own, its name gone, and
    /// never written again), read through a map.
    pub(crate) fn map_file(file: &std::fs::File, len: usize) -> std::io::Result<Self> {
        if len == 0 {
            return Ok(Self::new());
        }
        // SAFETY: the file is this process's own and never written again, so the mapping's
        // bytes cannot change under the slices read from it.
        let map = unsafe { memmap2::Mmap::map(file)? };
        Self::mapped(Arc::new(map), 0, len)
            .ok_or_else(|| std::io::Error::other("spilled column did not map back"))
    }

    /// Read the column from `head` (its first `cut` bytes, a whole number of pages) and
    /// `tail` (the rest) through one map: `head`'s map, as long as the column, with `tail`'s
    /// laid over its end.
    fn map_back_joined(
        &mut self,
        head: &std::fs::File,
        tail: &std::fs::File,
        cut: usize,
    ) -> std::io::Result<()> {
        let (len, bytes) = (self.len(), std::mem::size_of_val::<[T]>(self));
        if cut == bytes {
            return self.map_back(head);
        }
        // SAFETY: as in `map_back`, for both files. The map runs past the end of `head`
        // (reading there would fault) only until `tail` is laid over that part below; on
        // failure the map is dropped unread.
        let map = unsafe { memmap2::MmapOptions::new().len(bytes).map(head)? };
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: the range is inside `map` (cut < bytes), starts on a page (`head_bytes`
            // made `cut` a whole number of pages), and MAP_FIXED replaces that part of `map`
            // with `tail`'s pages; `map`'s drop unmaps the whole range, the overlay with it.
            let at = unsafe { map.as_ptr().add(cut) } as *mut libc::c_void;
            let got = unsafe {
                libc::mmap(
                    at,
                    bytes - cut,
                    libc::PROT_READ,
                    libc::MAP_SHARED | libc::MAP_FIXED,
                    tail.as_raw_fd(),
                    0,
                )
            };
            if got != at {
                return Err(std::io::Error::last_os_error());
            }
        }
        #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
        let _ = tail;
        *self = Self::mapped(Arc::new(map), 0, len)
            .ok_or_else(|| std::io::Error::other("spilled column did not map back"))?;
        Ok(())
    }

    /// Hand the pages of a mapped column back to the kernel (they are read again from the file
    /// if touched later): a pass that is done with a spilled column keeps it off the process's
    /// resident memory. Does nothing to owned and shared columns, or off Unix.
    pub fn release(&self) {
        self.release_range(0..self.len());
    }

    /// [`release`](Self::release) values `range` only (and the rest of their first and last
    /// pages): for a pass that reads a column once, front to back.
    pub fn release_range(&self, range: std::ops::Range<usize>) {
        #[cfg(unix)]
        if let Repr::Mapped { map, offset, len } = &self.0 {
            let size = std::mem::size_of::<T>();
            let (start, end) = (range.start.min(*len), range.end.min(*len));
            if start < end {
                // SAFETY: the mapping is read-only and backed by a file nobody writes, so
                // dropping its pages loses nothing: the next read faults them in unchanged.
                let _ = unsafe {
                    map.unchecked_advise_range(
                        memmap2::UncheckedAdvice::DontNeed,
                        offset + start * size,
                        (end - start) * size,
                    )
                };
            }
        }
        #[cfg(not(unix))]
        let _ = range;
    }

    /// The values as an owned `Vec`, copying a mapped or shared column first.
    pub fn vec_mut(&mut self) -> &mut Vec<T> {
        if !matches!(self.0, Repr::Owned(_)) {
            let values = match std::mem::replace(&mut self.0, Repr::Owned(Vec::new())) {
                Repr::Shared(v) => Arc::try_unwrap(v).unwrap_or_else(|v| v.to_vec()),
                other => Self(other).to_vec(),
            };
            self.0 = Repr::Owned(values);
        }
        match &mut self.0 {
            Repr::Owned(v) => v,
            _ => unreachable!("made owned above"),
        }
    }

    /// The values as a `Vec`.
    pub fn into_vec(mut self) -> Vec<T> {
        std::mem::take(self.vec_mut())
    }

    /// Bytes in a mapped file (0 for owned and shared columns).
    pub fn mapped_bytes(&self) -> usize {
        match &self.0 {
            Repr::Mapped { len, .. } => len * std::mem::size_of::<T>(),
            _ => 0,
        }
    }

    /// Heap bytes reserved (0 for a mapped column: the kernel pages it in and out; a shared
    /// column's bytes are counted by each holder).
    pub fn capacity(&self) -> usize {
        match &self.0 {
            Repr::Owned(v) => v.capacity(),
            Repr::Shared(v) => v.capacity(),
            Repr::Mapped { .. } => 0,
        }
    }

    /// Append a value.
    pub fn push(&mut self, v: T) {
        self.vec_mut().push(v);
    }

    /// Grow or shrink to `n` values, filling with `v`.
    pub fn resize(&mut self, n: usize, v: T) {
        self.vec_mut().resize(n, v);
    }

    /// Reserve room for `n` more values.
    pub fn reserve(&mut self, n: usize) {
        self.vec_mut().reserve(n);
    }

    /// Release unused capacity.
    pub fn shrink_to_fit(&mut self) {
        if let Repr::Owned(v) = &mut self.0 {
            v.shrink_to_fit();
        }
    }

    /// Append `s`.
    pub fn extend_from_slice(&mut self, s: &[T]) {
        self.vec_mut().extend_from_slice(s);
    }

    /// Keep the first `n` values.
    pub fn truncate(&mut self, n: usize) {
        self.vec_mut().truncate(n);
    }

    /// Remove every value.
    pub fn clear(&mut self) {
        self.0 = Repr::Owned(Vec::new());
    }
}

impl<T: Pod> Deref for Column<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        match &self.0 {
            Repr::Owned(v) => v,
            Repr::Shared(v) => v,
            // SAFETY: `mapped` checked that `offset + len * size_of::<T>()` is inside the
            // mapping and that the start is aligned for `T`; every bit pattern is a valid `T`
            // (see `Pod`); the mapping is read-only and lives as long as the `Arc`.
            Repr::Mapped { map, offset, len } => unsafe {
                std::slice::from_raw_parts(map.as_ptr().add(*offset).cast::<T>(), *len)
            },
        }
    }
}

impl<T: Pod> DerefMut for Column<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.vec_mut()
    }
}

impl<T: Pod> Default for Column<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Pod> Clone for Column<T> {
    fn clone(&self) -> Self {
        match &self.0 {
            Repr::Owned(v) => Self(Repr::Owned(v.clone())),
            Repr::Shared(v) => Self(Repr::Shared(Arc::clone(v))),
            Repr::Mapped { map, offset, len } => Self(Repr::Mapped {
                map: Arc::clone(map),
                offset: *offset,
                len: *len,
            }),
        }
    }
}

impl<T: Pod> std::fmt::Debug for Column<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Pod> PartialEq for Column<T> {
    fn eq(&self, other: &Self) -> bool {
        self[..] == other[..]
    }
}

// Columns compare with the `Vec`s they replaced (tests check analyses against references).
impl<T: Pod> PartialEq<Vec<T>> for Column<T> {
    fn eq(&self, other: &Vec<T>) -> bool {
        self[..] == other[..]
    }
}

impl<T: Pod> From<Vec<T>> for Column<T> {
    fn from(v: Vec<T>) -> Self {
        Self(Repr::Owned(v))
    }
}

impl<T: Pod> FromIterator<T> for Column<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Self(Repr::Owned(iter.into_iter().collect()))
    }
}

impl<T: Pod> Extend<T> for Column<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        self.vec_mut().extend(iter);
    }
}

impl<'a, T: Pod> IntoIterator for &'a Column<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_behaves_like_a_vec() {
        let mut c: Column<u32> = Column::with_capacity(2);
        c.push(3);
        c.extend([4, 5]);
        c[0] = 7;
        assert_eq!(&c[..], &[7, 4, 5]);
        assert!(!c.is_mapped());
        assert_eq!(c.clone().into_vec(), vec![7, 4, 5]);
    }

    #[test]
    fn spilled_columns_read_back_unchanged_after_release() {
        let dir = std::env::temp_dir().join(format!("heapsight-column-{}", std::process::id()));
        let spill = crate::model::spill::SpillDir::at(&dir);
        let values: Vec<u32> = (0..300_000u32)
            .map(|i| i.wrapping_mul(2_654_435_761))
            .collect();
        let mut c: Column<u32> = values.clone().into();
        c.spill_to(spill.new_file().unwrap()).unwrap();
        assert!(c.is_mapped());
        assert_eq!(c.mapped_bytes(), values.len() * 4);
        assert_eq!(c, values);
        c.release_range(1000..200_000);
        assert_eq!(c, values, "pages handed back are read again from the file");
        c.release();
        assert_eq!(c, values);
        // The file's name is gone already: nothing is left behind in the folder.
        if cfg!(unix) {
            assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        }
        let _ = std::fs::remove_dir(&dir);
    }

    #[test]
    fn columns_spilled_by_two_threads_read_back_unchanged() {
        let dir = std::env::temp_dir().join(format!("heapsight-split-{}", std::process::id()));
        let spill = crate::model::spill::SpillDir::at(&dir);
        let values: Vec<u32> = (0..700_000u32).map(|i| i.wrapping_mul(40_503)).collect();
        let offsets: Vec<u32> = (0..1000u32).collect();
        // Cuts inside a write piece and a page, on a page, at either end and past the end.
        for cut in [0, 1, 1024, 262_145, 699_999, 700_000, 5_000_000] {
            let (mut c, mut o): (Column<u32>, Column<u32>) =
                (values.clone().into(), offsets.clone().into());
            let (head, tail, other) = (
                spill.new_file().unwrap(),
                spill.new_file().unwrap(),
                spill.new_file().unwrap(),
            );
            c.spill_split_to(head, tail, cut, || o.spill_to(other))
                .unwrap();
            assert!(c.is_mapped() && o.is_mapped(), "cut {cut}");
            assert_eq!(c, values, "cut {cut}");
            assert_eq!(o, offsets, "cut {cut}");
            c.release_range(1000..600_000);
            assert_eq!(c, values, "cut {cut}: pages handed back are read again");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn shared_clones_copy_on_write() {
        let mut c: Column<u32> = vec![1, 2, 3].into();
        c.share();
        let mut d = c.clone();
        assert_eq!(d.as_ptr(), c.as_ptr(), "a clone shares the values");
        d[1] = 9;
        assert_ne!(d.as_ptr(), c.as_ptr(), "writing copies");
        assert_eq!((&c[..], &d[..]), (&[1, 2, 3][..], &[1, 9, 3][..]));
        drop(d);
        c.push(4);
        assert_eq!(c.into_vec(), vec![1, 2, 3, 4]);
    }
}
