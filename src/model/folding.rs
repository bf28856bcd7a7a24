//! Which frames of an allocation stack are plumbing (the allocator, `alloc`/`core`/`std`, the
//! profiler itself) and are folded away from its allocating end, so a site is named after the
//! user's function that allocated. A user setting: `--no-fold`, `--fold PREFIX`, the GUI's
//! folding row.

/// Frames that are allocator or standard-library plumbing, folded away by default so stacks
/// end at the user's function that allocated.
pub const DEFAULT_FOLDED_PREFIXES: [&str; 14] = [
    "alloc::",
    "core::",
    "std::",
    "hashbrown::",
    "__rust",
    "__rg_",
    "__libc_",
    "dhat::",
    "malloc",
    "calloc",
    "realloc",
    "posix_memalign",
    "operator new",
    "_Znwm",
];

/// Does `function` belong to a folded crate or allocator? A trait impl counts by its type
/// (`<alloc::vec::Vec<T> as …>::f`), or by its trait when the type is a bare generic
/// parameter (`<T as alloc::…>::f`); `<my::Thing as core::fmt::Debug>::fmt` is the user's.
pub fn is_folded<S: AsRef<str>>(function: &str, fold: &[S]) -> bool {
    let f = function.trim_start_matches('<');
    let folded = |s: &str| fold.iter().any(|p| s.starts_with(p.as_ref()));
    match f.split_once(" as ") {
        Some((ty, tr)) if !ty.contains("::") => folded(ty) || folded(tr),
        _ => folded(f),
    }
}

/// Is `location` in Rust's standard library sources? Producers spell them `library/core/…`,
/// `/rustc/<hash>/library/…` or, as dhat-rs does, `alloc/src/…`.
fn is_std_source(location: &str) -> bool {
    const CRATES: [&str; 3] = ["alloc/src/", "core/src/", "std/src/"];
    location.starts_with("library/")
        || location.contains("/rustc/")
        || CRATES.iter().any(|c| location.starts_with(c))
}

/// Which frames are plumbing (allocator, `alloc`/`core`/`std`, the profiler itself): they are
/// folded away from the allocating end of every stack, so a site is named after the user's
/// function that allocated. A user setting (`--no-fold`, `--fold PREFIX`; the GUI's folding
/// box).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folding {
    /// Function-name prefixes (crate paths such as `alloc::`, allocator entry points).
    pub prefixes: Vec<String>,
    /// Also fold code from Rust's standard-library sources (`library/…`, `/rustc/…`) and the
    /// inlined frames valgrind can't name (`UnknownInlinedFun`).
    pub std_sources: bool,
}

impl Default for Folding {
    fn default() -> Self {
        Self::standard()
    }
}

impl Folding {
    /// heapsight's default: [`DEFAULT_FOLDED_PREFIXES`] and standard-library sources.
    pub fn standard() -> Self {
        Self {
            prefixes: DEFAULT_FOLDED_PREFIXES.map(String::from).to_vec(),
            std_sources: true,
        }
    }

    /// Fold nothing: stacks end at the allocator.
    pub fn none() -> Self {
        Self {
            prefixes: Vec::new(),
            std_sources: false,
        }
    }

    /// The standard folding (or none, when `standard` is false) plus `extra` prefixes.
    pub fn with_extra(standard: bool, extra: impl IntoIterator<Item = String>) -> Self {
        let mut f = if standard {
            Self::standard()
        } else {
            Self::none()
        };
        for p in extra {
            let p = p.trim().to_string();
            if !p.is_empty() && !f.prefixes.contains(&p) {
                f.prefixes.push(p);
            }
        }
        f
    }

    /// Is the frame `function` at `location` plumbing?
    pub fn folds(&self, function: &str, location: &str) -> bool {
        is_folded(function, &self.prefixes)
            || (self.std_sources && (function == "UnknownInlinedFun" || is_std_source(location)))
    }

    /// The prefixes beyond the standard ones (what a user added).
    pub fn extra_prefixes(&self) -> Vec<String> {
        self.prefixes
            .iter()
            .filter(|p| !DEFAULT_FOLDED_PREFIXES.contains(&p.as_str()))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding() {
        let f = &DEFAULT_FOLDED_PREFIXES;
        let none = Folding::none();
        assert!(!none.folds("alloc::vec::from_elem", "library/alloc/src/vec.rs"));
        assert!(Folding::standard().folds("my::f", "/rustc/abc/library/core/src/x.rs"));
        assert!(Folding::standard().folds(
            "<u8 as <[_]>::to_vec_in::ConvertVec>::to_vec",
            "alloc/src/slice.rs:448:29"
        ));
        assert!(!Folding::standard().folds("my::f", "my-crate/src/alloc/src/x.rs"));
        let mine = Folding::with_extra(false, ["my_pool::".to_string(), " ".to_string()]);
        assert_eq!(mine.prefixes, ["my_pool::"]);
        assert!(mine.folds("my_pool::Pool::get", ""));
        assert!(!mine.folds("alloc::vec::from_elem", ""));
        assert_eq!(
            Folding::with_extra(true, ["x::".to_string()]).extra_prefixes(),
            ["x::"]
        );
        assert!(is_folded("alloc::vec::from_elem", f));
        assert!(is_folded(
            "<T as alloc::vec::spec_from_elem::SpecFromElem>::from_elem",
            f
        ));
        assert!(is_folded(
            "<alloc::string::String as core::clone::Clone>::clone",
            f
        ));
        assert!(is_folded("malloc", f));
        assert!(!is_folded("alloc_workload::load_tensors", f));
        assert!(!is_folded("<my::Thing as core::fmt::Debug>::fmt", f));
    }
}
