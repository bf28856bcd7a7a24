//! One shared table for every name in a snapshot: each string is stored once and named by a `u32`.

use std::collections::HashMap;

use super::column::Column;

/// Index of a string in a [`StringTable`].
pub type StrId = u32;

/// Strings laid end to end in one buffer, addressed by `u32` ids.
///
/// V8 snapshots already de-duplicate their strings, so the loader appends them as they come;
/// other formats call [`StringTable::intern`], which keeps a lookup map only while building.
#[derive(Debug, Default, Clone)]
pub struct StringTable {
    /// UTF-8 text (checked when the table is made from raw parts).
    bytes: Column<u8>,
    /// `ends[i]` is where string `i` ends in `bytes`; it starts where `i - 1` ends.
    ends: Column<u32>,
    lookup: Option<HashMap<Box<str>, StrId>>,
}

/// The ids of one string (see [`StringTable::ids_of`]).
#[derive(Debug, Clone, Default)]
pub struct NameIds(Vec<StrId>);

impl NameIds {
    /// Is `id` one of them?
    #[inline]
    pub fn contains(&self, id: StrId) -> bool {
        self.0.contains(&id)
    }

    /// True when the table has no such string (then no node or edge can have it).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl StringTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when the table has no strings.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Total bytes of string content (what the table costs beyond 4 bytes a string).
    pub fn content_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Append a string without looking for an equal one; `None` when the table would pass 4 GiB.
    pub fn push(&mut self, s: &str) -> Option<StrId> {
        let end = u32::try_from(self.bytes.len() + s.len()).ok()?;
        let id = u32::try_from(self.ends.len()).ok()?;
        self.bytes.extend_from_slice(s.as_bytes());
        self.ends.push(end);
        Some(id)
    }

    /// The id of `s`, adding it if it is new. Builds a lookup map on first use.
    pub fn intern(&mut self, s: &str) -> Option<StrId> {
        if self.lookup.is_none() {
            let map = (0..self.len() as StrId)
                .map(|i| (Box::from(self.get(i)), i))
                .collect();
            self.lookup = Some(map);
        }
        if let Some(&id) = self.lookup.as_ref().and_then(|m| m.get(s)) {
            return Some(id);
        }
        let id = self.push(s)?;
        if let Some(m) = self.lookup.as_mut() {
            m.insert(Box::from(s), id);
        }
        Some(id)
    }

    /// Drop the interning map once building is done.
    pub fn finish(&mut self) {
        self.lookup = None;
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
    }

    /// The string with id `id`, or `""` for an id out of range.
    pub fn get(&self, id: StrId) -> &str {
        let i = id as usize;
        let Some(&end) = self.ends.get(i) else {
            return "";
        };
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        // `bytes` is UTF-8 as a whole, but a table read from an index file is not checked at
        // every end: an end inside a character (only in a forged file) reads as "", no panic.
        let (start, end) = (start as usize, end as usize);
        let b = &self.bytes[..];
        let boundary = |i: usize| i == b.len() || (i < b.len() && (b[i] as i8) >= -0x40);
        if start > end || !boundary(start) || !boundary(end) {
            return "";
        }
        // SAFETY: `bytes` is UTF-8 (pushed as `&str`, or checked by `from_raw_parts*`) and
        // both ends are character boundaries inside it.
        unsafe { std::str::from_utf8_unchecked(&b[start..end]) }
    }

    /// Every id whose string is `text` (V8 snapshots and interned tables have at most one, but
    /// a forged file may repeat a string). A pass over the ends, with the bytes compared only
    /// where the length is right: a per-node test against these ids then reads no string.
    pub fn ids_of(&self, text: &str) -> NameIds {
        let [ids] = self.ids_of_each([text]);
        ids
    }

    /// [`ids_of`](Self::ids_of) for several strings, in one pass over the table.
    pub fn ids_of_each<const N: usize>(&self, texts: [&str; N]) -> [NameIds; N] {
        let b = &self.bytes[..];
        let mut start = 0usize;
        let mut ids: [Vec<StrId>; N] = std::array::from_fn(|_| Vec::new());
        for (i, &end) in self.ends.iter().enumerate() {
            let end = end as usize;
            let len = end.wrapping_sub(start);
            for (text, ids) in texts.iter().zip(&mut ids) {
                if len == text.len() && b.get(start..end) == Some(text.as_bytes()) {
                    ids.push(i as StrId);
                }
            }
            start = end;
        }
        ids.map(NameIds)
    }

    /// Iterate over `(id, string)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (StrId, &str)> + '_ {
        (0..self.len() as StrId).map(move |i| (i, self.get(i)))
    }

    /// The raw parts: UTF-8 text and each string's end offset.
    pub fn raw_parts(&self) -> (&[u8], &[u32]) {
        (&self.bytes, &self.ends)
    }

    /// A table from [`StringTable::raw_parts`]; `None` unless `bytes` is UTF-8.
    pub fn from_raw_parts(bytes: Column<u8>, ends: Column<u32>) -> Option<Self> {
        std::str::from_utf8(&bytes).ok()?;
        Some(Self {
            bytes,
            ends,
            lookup: None,
        })
    }

    /// [`StringTable::from_raw_parts`] for text the caller has already checked.
    ///
    /// # Safety
    /// `bytes` must be valid UTF-8.
    pub unsafe fn from_raw_parts_unchecked(bytes: Column<u8>, ends: Column<u32>) -> Self {
        Self {
            bytes,
            ends,
            lookup: None,
        }
    }

    /// Heap bytes used by the table.
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.ends.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_get_and_intern() {
        let mut t = StringTable::new();
        assert_eq!(t.push("a"), Some(0));
        assert_eq!(t.push(""), Some(1));
        assert_eq!(t.push("héllo"), Some(2));
        assert_eq!(t.get(0), "a");
        assert_eq!(t.get(1), "");
        assert_eq!(t.get(2), "héllo");
        assert_eq!(t.get(99), "");
        assert_eq!(t.intern("héllo"), Some(2));
        assert_eq!(t.intern("new"), Some(3));
        assert_eq!(t.intern("new"), Some(3));
        t.finish();
        assert_eq!(t.len(), 4);
    }
}
