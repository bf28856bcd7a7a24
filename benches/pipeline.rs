//! Pipeline benchmark: wall time and peak memory per phase on a snapshot you name.
//!
//! ```text
//! node scripts/make-big-snapshot.js            # ~1.9 GB, 20 M nodes, 64 M edges (3 min)
//! cargo bench --bench pipeline -- target/bench/big.heapsnapshot
//! cargo bench --bench pipeline -- sample-snapshots/node-leak/target.heapsnapshot
//! cargo bench --bench pipeline -- --load-only target/bench/big.heapsnapshot  # reading alone
//! ```
//!
//! Phases are told apart by the progress callback's phase names. Peak memory per phase comes
//! from Linux's VmHWM, reset between phases through /proc/self/clear_refs.

use std::sync::Mutex;
use std::time::Instant;

use heapsight::analysis::call_tree::{CallTree, Direction};
use heapsight::analysis::memory_map::{MemoryMap, DEFAULT_MIN_BUFFER};
use heapsight::analysis::{AnalysisOptions, AnalyzedSnapshot};
use heapsight::progress::Progress;

/// As the `heapsight` binary allocates (`HEAPSIGHT_HUGE_PAGES=1` asks for huge pages,
/// `HEAPSIGHT_REUSE_BLOCKS=0` the reuse of big blocks).
#[global_allocator]
static ALLOC: heapsight::big_blocks::BigBlockAlloc = heapsight::big_blocks::BigBlockAlloc;

fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// CPU time of the whole process so far (every thread), in seconds: what a phase costs in
/// work, beside its wall time (on two cores a phase may use up to twice its seconds). 0 where
/// the process clock is not read (other than Linux with glibc): the column is then all zeros.
fn cpu_seconds() -> f64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes only to `t`.
        if unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) } == 0 {
            return t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9;
        }
    }
    0.0
}

/// The process's user and system CPU seconds so far (from /proc/self/stat, in clock ticks).
fn user_and_system_seconds() -> Option<(f64, f64)> {
    // The tick rate user space sees (USER_HZ: 100 on Linux, whatever the kernel's own).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: sysconf has no preconditions.
    let ticks = match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
        t if t > 0 => t as f64,
        _ => 100.0,
    };
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let ticks = 100.0;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime / ticks, stime / ticks))
}

struct Phases {
    current: String,
    started: Instant,
    cpu_at_start: f64,
    /// (phase, seconds, peak KiB, resident KiB at the end, CPU seconds).
    rows: Vec<(String, f64, u64, u64, f64)>,
}

impl Phases {
    fn switch(&mut self, next: &str) {
        if next == self.current {
            return;
        }
        let secs = self.started.elapsed().as_secs_f64();
        let peak = status_kib("VmHWM:");
        let now = status_kib("VmRSS:");
        let cpu = cpu_seconds();
        let name = std::mem::replace(&mut self.current, next.to_string());
        self.rows
            .push((name, secs, peak, now, cpu - self.cpu_at_start));
        reset_peak();
        self.started = Instant::now();
        self.cpu_at_start = cpu;
    }
}

fn main() {
    // What the `heapsight` binary does first (see there).
    heapsight::process_memory::return_freed_blocks_to_os();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let Some(path) = args.first() else {
        eprintln!("usage: cargo bench --bench pipeline -- SNAPSHOT");
        std::process::exit(2);
    };
    let file_size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    reset_peak();
    let phases = Mutex::new(Phases {
        current: "open".into(),
        started: Instant::now(),
        cpu_at_start: cpu_seconds(),
        rows: Vec::new(),
    });
    let total_start = Instant::now();
    let on_progress = |phase: &str, _done: u64, _total: u64| {
        phases.lock().unwrap().switch(phase);
    };
    let progress = Progress::new(Some(&on_progress), None);
    // As `Document::open` does around loading and analysing.
    let reuse = heapsight::big_blocks::ReuseScope::enter();
    let snap = heapsight::formats::load(path.as_ref(), progress).expect("load");
    if std::env::args().any(|a| a == "--load-only") {
        on_progress("done", 0, 0);
        print_phases(
            &phases.lock().unwrap(),
            total_start.elapsed().as_secs_f64(),
            file_size,
        );
        return;
    }
    let (nodes, edges) = (snap.graph.node_count(), snap.graph.edge_count());
    let (graph_bytes, spilled_bytes) = (snap.graph.heap_bytes(), snap.graph.mapped_bytes());
    let analyzed =
        AnalyzedSnapshot::new(snap, AnalysisOptions::default(), progress).expect("analysis");
    drop(reuse);
    // As `heapsight summary` does: the two side by side.
    on_progress("summary + statistics", 0, 0);
    analyzed.prepare_totals();
    let (summary, stats) = (analyzed.summary(), analyzed.statistics());
    // The memory map with holders and wrappers (issue: at most 10 % on top of the above).
    let memory = analyzed.snapshot.alloc.is_none().then(|| {
        on_progress("memory map", 0, 0);
        MemoryMap::build(&analyzed, DEFAULT_MIN_BUFFER)
    });
    let call_tree_nodes = analyzed.snapshot.alloc.as_deref().map(|p| {
        on_progress("call tree top-down", 0, 0);
        let down = CallTree::build(p, Direction::TopDown);
        on_progress("call tree bottom-up", 0, 0);
        let up = CallTree::build(p, Direction::BottomUp);
        on_progress("site stats", 0, 0);
        let rows = heapsight::analysis::alloc::site_stats(p);
        (p.sites.len(), down.len(), up.len(), rows.len())
    });
    on_progress("done", 0, 0);
    let total = total_start.elapsed().as_secs_f64();

    println!("snapshot      {path}");
    println!(
        "threads       {}",
        if heapsight::parallel::two_threads() {
            "2 (numbers scanned beside the rows; the retainers built beside the strings; the \
             classes and the distances beside the dominator search, so they have no rows of \
             their own; then the shallow sizes, in pieces shared by the two threads (their row \
             is the part after the search); the semidominators' retainers read beside that \
             pass, and the statistics' sizes by kind and the class counts made beside it; the \
             retained sizes beside the dominator tree's child lists, so the summary is made in \
             the analysis)"
        } else {
            "1 (HEAPSIGHT_THREADS=1)"
        }
    );
    println!(
        "size          {:.1} MiB, {nodes} nodes, {edges} edges",
        file_size as f64 / (1 << 20) as f64
    );
    print_phases(&phases.lock().unwrap(), total, file_size);
    println!(
        "graph         {:.1} bytes/node + {:.1} bytes/edge layout; {} MiB in memory (with \
         strings), {} MiB of edge arrays, node names and ids in files (spilled: only pages in use are resident)",
        graph_layout_per_node(&analyzed),
        graph_layout_per_edge(),
        graph_bytes >> 20,
        spilled_bytes >> 20
    );
    if let Some((sites, down, up, rows)) = call_tree_nodes {
        println!(
            "alloc profile {sites} sites ({rows} after folding); call trees {down} nodes top-down, \
             {up} bottom-up ({} bytes/node)",
            std::mem::size_of::<heapsight::model::alloc::AllocMetrics>() + 4 * 4
        );
    }
    println!(
        "classes       {}; total size {} bytes; strings {} bytes",
        summary.classes.len(),
        summary.total_size,
        stats.strings
    );
    if let Some(m) = memory {
        println!(
            "memory map    {} WebAssembly memories, {} buffer holders, {} wrapper classes",
            m.wasm_memories.len(),
            m.buffer_holders.len(),
            m.wasm_wrappers.classes.len()
        );
    }
}

/// The table of phases (time, peak and resident memory at the end, CPU time of all threads),
/// the total, the peak against the file's size, and how busy the cores were.
fn print_phases(phases: &Phases, total: f64, file_size: u64) {
    let overall_peak = phases.rows.iter().map(|r| r.2).max().unwrap_or(0);
    println!(
        "{:<26} {:>9} {:>13} {:>12} {:>9}",
        "phase", "seconds", "peak RSS MiB", "at end MiB", "CPU s"
    );
    for (name, secs, peak, now, cpu) in &phases.rows {
        if name == "loaded" || name == "open" && *secs < 0.001 {
            continue;
        }
        println!(
            "{name:<26} {secs:>9.3} {:>13.0} {:>12.0} {cpu:>9.3}",
            *peak as f64 / 1024.0,
            *now as f64 / 1024.0
        );
    }
    let cpu: f64 = phases.rows.iter().map(|r| r.4).sum();
    println!(
        "{:<26} {total:>9.3} {:>13.0} {:>12} {cpu:>9.3}",
        "TOTAL",
        overall_peak as f64 / 1024.0,
        ""
    );
    // `heapsight summary` stops before the memory map (the issue's "everything `summary`
    // prints"); the app's Memory map view works it out when opened.
    if let Some(map) = phases.rows.iter().find(|r| r.0 == "memory map") {
        println!("{:<26} {:>9.3}", "TOTAL to the summary", total - map.1);
    }
    println!(
        "peak / file   {:.2}x",
        overall_peak as f64 * 1024.0 / file_size.max(1) as f64
    );
    // The work, against what the cores could do in the time: where both cores are busy
    // throughout, only less work makes the run shorter.
    if let Some((user, system)) = user_and_system_seconds() {
        println!(
            "cpu           {cpu:.2} s of work in {total:.2} s: {:.2} cores busy on average \
             (user {user:.2} s, system {system:.2} s)",
            cpu / total.max(1e-9)
        );
    }
}

/// Fixed per-node cost of the graph (see `model::graph`): type, name, id, self size, first
/// edge, first retainer, plus optional columns.
fn graph_layout_per_node(s: &AnalyzedSnapshot) -> f64 {
    let g = s.graph();
    let mut b = 1.0 + 4.0 * 5.0;
    if g.has_detachedness() {
        b += 1.0;
    }
    if (0..g.node_count().min(1) as u32).any(|n| g.trace_node_id(n) != 0) {
        b += 4.0;
    }
    b
}

fn graph_layout_per_edge() -> f64 {
    1.0 + 4.0 + 4.0 + 4.0
}
