//! The index cache: reopening through it gives byte-identical output; stale, truncated and
//! corrupt indexes are detected and rebuilt; the size cap evicts the least recently used;
//! `--no-cache` writes nothing. Every test uses its own cache folder, never the user's.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, SystemTime};

use heapsight::analysis::{AnalysisOptions, RuleSet};
use heapsight::formats::LoadOptions;
use heapsight::store::index_cache::Lookup;
use heapsight::store::{CacheUse, Document, DocumentId, IndexCache};

fn sample(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-snapshots")
        .join(rel)
}

/// Run heapsight with the cache in `dir`.
fn run_cached(dir: &Path, args: &[&str]) -> Output {
    let out = common::heapsight_command()
        .env_remove("HEAPSIGHT_NO_CACHE")
        .env("HEAPSIGHT_CACHE_DIR", dir)
        .args(args)
        .output()
        .expect("run heapsight");
    assert!(
        out.status.success(),
        "heapsight {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn lookup(cache: &IndexCache, path: &Path) -> Lookup {
    cache.lookup(path, RuleSet::DevTools, &LoadOptions::default())
}

fn is_hit(l: &Lookup) -> bool {
    matches!(l, Lookup::Hit(_))
}

fn open(cache: &IndexCache, path: &Path) -> Document {
    Document::open_cached(
        DocumentId::next(),
        path,
        &LoadOptions::default(),
        AnalysisOptions::default(),
        Some(cache),
        Default::default(),
    )
    .expect("open")
}

fn index_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|x| x == "hsidx"));
    v.sort();
    v
}

#[test]
fn outputs_are_identical_with_and_without_the_index() {
    let dir = common::fresh_dir("cache-roundtrip");
    let cache = IndexCache::at(&dir, u64::MAX);
    let samples = [
        ("node-leak/baseline.heapsnapshot", true),
        ("browser-detached/target.heapsnapshot", true),
        ("browser-wasm/step1.heapsnapshot", true),
        ("node-timeline/alloc.heaptimeline", true),
        ("rust/dhat-rs-small.json", false),
        ("rust/heaptrack-small.zst", false),
    ];
    for (rel, cached) in samples {
        let path = sample(rel);
        let file = path.to_str().unwrap();
        for args in [
            vec!["summary", file, "--json", "--top", "0"],
            vec!["nodes", file, "--tsv"],
            vec!["summary", file, "--rules", "memlab"],
        ] {
            if !cached && args[0] == "nodes" {
                continue;
            }
            let mut plain = args.clone();
            plain.push("--no-cache");
            let want = run_cached(&dir, &plain).stdout;
            let first = run_cached(&dir, &args).stdout;
            let rules = if args.contains(&"memlab") {
                RuleSet::Memlab
            } else {
                RuleSet::DevTools
            };
            let hit = cache.lookup(&path, rules, &LoadOptions::default());
            assert_eq!(
                is_hit(&hit),
                cached,
                "{rel} {args:?}: index after first open"
            );
            let again = run_cached(&dir, &args).stdout;
            assert!(first == want, "{rel} {args:?}: first open differs");
            assert!(
                again == want,
                "{rel} {args:?}: reopen from the index differs"
            );
        }
    }
    // A hit in-process too, with the arrays mapped rather than copied.
    let doc = open(&cache, &sample("node-leak/baseline.heapsnapshot"));
    assert_eq!(doc.cache, CacheUse::Hit);
}

#[test]
fn every_flipped_byte_is_detected_and_none_panics() {
    let dir = common::fresh_dir("cache-flip");
    let cache = IndexCache::at(&dir, u64::MAX);
    let path = sample("node-leak/baseline.heapsnapshot");
    assert_eq!(open(&cache, &path).cache, CacheUse::Written);
    let index = index_files(&dir).pop().expect("an index");
    let good = std::fs::read(&index).unwrap();
    assert!(is_hit(&lookup(&cache, &path)));
    // Header and section table byte by byte, then positions spread over every section, then
    // the last bytes.
    let len = good.len();
    let mut positions: Vec<usize> = (0..1024.min(len)).step_by(3).collect();
    positions.extend((0..400).map(|i| i * len / 400));
    positions.extend(len - 16..len);
    for &at in &positions {
        let mut bad = good.clone();
        bad[at] ^= 0x5a;
        std::fs::write(&index, &bad).unwrap();
        assert!(
            !is_hit(&lookup(&cache, &path)),
            "flip at byte {at} not detected"
        );
    }
    for cut in [0, 31, 100, len / 2, len - 1] {
        std::fs::write(&index, &good[..cut]).unwrap();
        assert!(!is_hit(&lookup(&cache, &path)), "cut at {cut} not detected");
    }
    // A corrupt index is rebuilt by the next open, with the same output.
    let file = path.to_str().unwrap();
    let want = run_cached(&dir, &["nodes", file, "--tsv", "--no-cache"]).stdout;
    assert!(run_cached(&dir, &["nodes", file, "--tsv"]).stdout == want);
    assert!(is_hit(&lookup(&cache, &path)), "rebuilt");
    assert_eq!(std::fs::read(&index).unwrap(), good, "rebuilt identically");
}

#[test]
fn a_changed_snapshot_makes_its_index_stale() {
    let dir = common::fresh_dir("cache-stale");
    let cache = IndexCache::at(dir.join("cache"), u64::MAX);
    let path = dir.join("copy.heapsnapshot");
    std::fs::copy(sample("node-leak/baseline.heapsnapshot"), &path).unwrap();
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let set_mtime = |t: SystemTime| {
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(t)
            .unwrap()
    };
    set_mtime(when);
    assert_eq!(open(&cache, &path).cache, CacheUse::Written);
    assert!(is_hit(&lookup(&cache, &path)));
    // Touched: another mtime.
    set_mtime(when + Duration::from_secs(1));
    assert!(matches!(lookup(&cache, &path), Lookup::Rejected(_)));
    assert_eq!(open(&cache, &path).cache, CacheUse::Written);
    assert!(is_hit(&lookup(&cache, &path)));
    // Rewritten in place with the same size and mtime: the head hash tells.
    let mut bytes = std::fs::read(&path).unwrap();
    let title = bytes.windows(5).position(|w| w == b"\"meta").unwrap();
    bytes[title + 1] = b'M';
    std::fs::write(&path, &bytes).unwrap();
    set_mtime(when + Duration::from_secs(1));
    assert!(matches!(lookup(&cache, &path), Lookup::Rejected(_)));
}

#[test]
fn the_cap_evicts_the_least_recently_used() {
    let dir = common::fresh_dir("cache-evict");
    let names = [
        "browser-detached-tree/tree.heapsnapshot",
        "browser-detached/baseline.heapsnapshot",
        "node-leak/target.heapsnapshot",
    ];
    let paths: Vec<PathBuf> = names.iter().map(|n| sample(n)).collect();
    // Learn each index's size.
    let big = IndexCache::at(&dir, u64::MAX);
    let sizes: Vec<u64> = paths
        .iter()
        .map(|p| {
            open(&big, p);
            let e = big.entries();
            let s = e.iter().map(|e| e.size).max().unwrap();
            big.clear().unwrap();
            s
        })
        .collect();
    assert!(sizes[1] <= sizes[2]);
    let cache = IndexCache::at(&dir, sizes[0] + sizes[2]);
    open(&cache, &paths[0]);
    open(&cache, &paths[1]);
    assert_eq!(cache.entries().len(), 2);
    // Make their ages explicit (no reliance on clock resolution): 0 used long ago, 1 later.
    let age = |i: usize, secs: u64| {
        let e = cache
            .entries()
            .into_iter()
            .find(|e| e.size == sizes[i])
            .unwrap();
        std::fs::File::options()
            .write(true)
            .open(&e.path)
            .unwrap()
            .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
            .unwrap();
    };
    age(0, 1000);
    age(1, 2000);
    // Using 0 makes 1 the least recently used.
    assert!(is_hit(&lookup(&cache, &paths[0])));
    open(&cache, &paths[2]);
    assert!(is_hit(&lookup(&cache, &paths[0])));
    assert!(
        !is_hit(&lookup(&cache, &paths[1])),
        "1 should have been evicted"
    );
    assert!(is_hit(&lookup(&cache, &paths[2])));
    let total: u64 = cache.entries().iter().map(|e| e.size).sum();
    assert!(total <= cache.max_bytes());
}

#[test]
fn no_cache_writes_nothing_and_cache_commands_report_and_clear() {
    let dir = common::fresh_dir("cache-cli");
    let file = sample("node-leak/baseline.heapsnapshot");
    let file = file.to_str().unwrap();
    run_cached(&dir, &["summary", file, "--no-cache"]);
    run_cached(&dir, &["nodes", file, "--tsv", "--no-cache"]);
    assert!(index_files(&dir).is_empty(), "--no-cache wrote an index");
    run_cached(&dir, &["summary", file]);
    assert_eq!(index_files(&dir).len(), 1);
    let info = String::from_utf8(run_cached(&dir, &["cache", "info"]).stdout).unwrap();
    assert!(info.contains("1 indexes"), "{info}");
    assert!(info.contains("baseline.heapsnapshot"), "{info}");
    run_cached(&dir, &["cache", "clear"]);
    assert!(index_files(&dir).is_empty());
    let info = String::from_utf8(run_cached(&dir, &["cache", "info"]).stdout).unwrap();
    assert!(info.contains("0 indexes"), "{info}");
}

/// The index reader's fuzz seeds (`fuzz/seeds/index_cache/`, written by heapsight itself
/// through `fuzz/make_index_seeds.sh`).
fn index_seeds() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/index_cache");
    let seeds = index_files(&dir);
    assert!(!seeds.is_empty(), "no index seeds in {}", dir.display());
    seeds
}

/// Read `index` (bytes) without a key the way the fuzz targets do, and use what maps the way
/// the views do. `Ok(true)` when it was accepted, `Err` with a panic's message.
fn read_and_use(index: &[u8], name: &str) -> Result<bool, String> {
    use heapsight::analysis::retainers::retainer_paths;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let file = common::temp_file(name, index);
    catch_unwind(AssertUnwindSafe(
        || match heapsight::store::index_cache::read_unkeyed(&file) {
            Ok(data) => {
                let _ = data.summary();
                let _ = data.statistics();
                let g = data.graph();
                let _ = data.analysis.parent_edges(g);
                let n = g.node_count() as u32;
                for node in [0, n / 2, n - 1] {
                    let _ = retainer_paths(g, &data.analysis, node, 3);
                    let _ = data.path_label(node);
                }
                true
            }
            Err(why) => {
                assert!(
                    why.contains(name),
                    "the reason does not name the file: {why}"
                );
                false
            }
        },
    ))
    .map_err(common::panic_message)
}

/// The seeds are valid indexes of this heapsight's format: when this fails, the format changed
/// (FORMAT_VERSION) and `fuzz/make_index_seeds.sh` must be run again.
#[test]
fn the_index_fuzz_seeds_are_current() {
    for seed in index_seeds() {
        let data = heapsight::store::index_cache::read_unkeyed(&seed)
            .unwrap_or_else(|why| panic!("run fuzz/make_index_seeds.sh: {why}"));
        assert!(data.graph().node_count() > 1, "{}", seed.display());
    }
}

/// Damage behind the checksums: every byte of the smallest seed changed in turn, the checksums
/// recomputed (`index_cache::reseal`, as the `index_cache_resealed` fuzz target does), is
/// rejected by a structural or value check or is harmless to use; none panics. The fuzzers'
/// findings (`tests/data/fuzz/index_cache*/`, already resealed) too.
#[test]
fn resealed_damage_is_rejected_or_harmless() {
    use heapsight::store::index_cache::reseal;
    let seeds = index_seeds();
    let smallest = seeds
        .iter()
        .min_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let good = std::fs::read(smallest).unwrap();
    let mut resealed = good.clone();
    reseal(&mut resealed);
    assert_eq!(resealed, good, "resealing a valid index changes nothing");
    // Every 7th byte (every section and header field still gets some), so the test stays fast.
    let mut rejected = 0;
    let mut tried = 0;
    for at in (0..good.len()).step_by(7) {
        for flip in [0x01, 0x80] {
            tried += 1;
            let mut bad = good.clone();
            bad[at] ^= flip;
            reseal(&mut bad);
            match read_and_use(&bad, "resealed.hsidx") {
                Ok(accepted) => rejected += usize::from(!accepted),
                Err(panic) => panic!("flip {flip:#x} at byte {at}: panicked: {panic}"),
            }
        }
    }
    // Most single-byte changes break a check (a few are in values nothing checks: sizes, ids).
    assert!(rejected > tried / 2, "{rejected} of {tried} rejected");
    let findings = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    for target in ["index_cache", "index_cache_resealed"] {
        let Ok(dir) = std::fs::read_dir(findings.join(target)) else {
            continue;
        };
        for file in dir.flatten() {
            let mut bytes = std::fs::read(file.path()).unwrap();
            if target == "index_cache_resealed" {
                reseal(&mut bytes);
            }
            let name = format!("{target}-{}", file.file_name().to_string_lossy());
            if let Err(panic) = read_and_use(&bytes, &name) {
                panic!("{name}: panicked: {panic}");
            }
        }
    }
}

/// Found while fuzzing (by reading the reader behind the checksums): sizes in an index were
/// not checked, so a forged index whose checksums were recomputed could hold retained sizes
/// or `extra_native_bytes` whose totals overflow in the summary. Sizes now add up to at most
/// what a loaded heap may hold (`MAX_HEAP_BYTES`), or the index is rejected.
#[test]
fn forged_sizes_behind_the_checksums_are_rejected() {
    use heapsight::store::index_cache::reseal;
    let seed = index_seeds()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("two-nodes"))
        .expect("the two-node seed");
    let good = std::fs::read(seed).unwrap();
    // Section table entry: id u32, element size u32, offset u64, count u64, checksum u64.
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let count = u32::from_le_bytes(good[12..16].try_into().unwrap()) as usize;
    let retained = (0..count)
        .map(|i| 32 + 32 * i)
        .find(|&at| u32::from_le_bytes(good[at..at + 4].try_into().unwrap()) == 19)
        .map(|at| u64_at(&good, at + 8) as usize)
        .expect("a Retained section");
    let mut forged = good.clone();
    forged[retained..retained + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    reseal(&mut forged);
    let file = common::temp_file("forged-retained.hsidx", &forged);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz/index_cache_resealed");
    // The committed copy is stored before resealing, as the fuzz target gets its inputs.
    let mut committed = std::fs::read(dir.join("retained-overflow.hsidx")).unwrap();
    reseal(&mut committed);
    assert!(
        committed == forged,
        "tests/data/fuzz/index_cache_resealed/retained-overflow.hsidx is this forged index"
    );
    let why = match heapsight::store::index_cache::read_unkeyed(&file) {
        Ok(_) => panic!("a forged retained size of 2^64 - 1 was accepted"),
        Err(why) => why,
    };
    assert!(why.contains("section 19 has values out of range"), "{why}");
    assert_eq!(read_and_use(&forged, "forged.hsidx"), Ok(false));
}

/// Found by the byte-flip test above: a forged index (checksums recomputed) whose root is
/// dominated by another node made every walk up the dominator tree loop forever. Such a cycle
/// is rejected.
#[test]
fn a_forged_dominator_cycle_is_rejected() {
    use heapsight::store::index_cache::reseal;
    let seed = index_seeds()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("two-nodes"))
        .expect("the two-node seed");
    let mut forged = std::fs::read(seed).unwrap();
    // Section table entry: id u32, element size u32, offset u64, count u64, checksum u64.
    let count = u32::from_le_bytes(forged[12..16].try_into().unwrap()) as usize;
    let idom = (0..count)
        .map(|i| 32 + 32 * i)
        .find(|&at| u32::from_le_bytes(forged[at..at + 4].try_into().unwrap()) == 18)
        .map(|at| u64::from_le_bytes(forged[at + 8..at + 16].try_into().unwrap()) as usize)
        .expect("an Idom section");
    // The root (node 0) dominated by node 1, whose dominator is the root.
    forged[idom..idom + 4].copy_from_slice(&1u32.to_le_bytes());
    reseal(&mut forged);
    let file = common::temp_file("forged-idom.hsidx", &forged);
    let why = match heapsight::store::index_cache::read_unkeyed(&file) {
        Ok(_) => panic!("a dominator cycle was accepted"),
        Err(why) => why,
    };
    assert!(why.contains("dominator cycle"), "{why}");
}

#[test]
fn an_index_owed_is_written_later_and_stale_temp_files_go() {
    let dir = common::fresh_dir("cache-later");
    let cache = IndexCache::at(&dir, u64::MAX);
    let path = sample("node-leak/target.heapsnapshot");
    // Opened without writing: nothing in the folder until the opener writes it.
    let doc = Document::open_cached_index_later(
        DocumentId::next(),
        &path,
        &LoadOptions::default(),
        AnalysisOptions::default(),
        Some(&cache),
        Default::default(),
    )
    .expect("open");
    assert!(matches!(doc.cache, CacheUse::Owed));
    assert!(index_files(&dir).is_empty());
    // Temp files left by writers that stopped: an old one goes, a fresh one (a live writer's)
    // stays.
    let temp = |name: &str, secs_ago: u64| {
        let p = dir.join(name);
        let f = std::fs::File::create(&p).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(secs_ago))
            .unwrap();
        p
    };
    let stale = temp(".x.hsidx.1.2.tmp", 2 * 60 * 60);
    let fresh = temp(".y.hsidx.3.4.tmp", 10);
    assert!(matches!(doc.write_index(&cache), CacheUse::Written));
    assert_eq!(index_files(&dir).len(), 1);
    assert!(
        !stale.exists(),
        "a temp file untouched for hours is removed"
    );
    assert!(fresh.exists(), "a temp file being written is kept");
    // The index written later is the same as one written at once.
    assert!(is_hit(&lookup(&cache, &path)));
    let once = open(&IndexCache::at(dir.join("once"), u64::MAX), &path);
    assert!(matches!(once.cache, CacheUse::Written));
    let later_bytes = std::fs::read(&index_files(&dir)[0]).unwrap();
    let once_bytes = std::fs::read(&index_files(&dir.join("once"))[0]).unwrap();
    assert!(later_bytes == once_bytes, "the same bytes either way");
}
