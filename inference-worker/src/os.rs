//! Process and thread settings taken from the operating system.
//!
//! ## Malloc arenas: keeping the worker's resident memory flat under load
//!
//! glibc's malloc gives each thread that allocates concurrently an arena of its own, up to
//! eight per core, and memory freed in one arena is not reused by another. The worker's
//! threads come and go (tokio's blocking pool, the engine and its matmul pool, connection
//! tasks), so over a long mixed load freed blocks pile up in many arenas: the soak
//! (`soak/soak.py`, 10 minutes, 3,376 requests on this 2-core machine) saw resident memory grow
//! from 680 MiB after warm-up to 786 MiB (+16%), in steps, never coming back. With two arenas
//! (`MALLOC_ARENA_MAX=2`) the same soak stayed within 1.3% (472 → 479 MiB); with this cap,
//! 475 → 509 MiB (+7%, flat over the last three minutes, 5,141 requests). So the worker caps
//! the arenas at two at start, unless `MALLOC_ARENA_MAX` is set (glibc then applied it).
//!
//! ## Background work yields to the engine
//!
//! The engine's step runs on two threads per two cores (the engine thread and candle's pool
//! worker) that meet at a barrier about a hundred times a step, each waiting for the other by
//! spinning. Any other busy thread on the machine (an adapter being read, hashed and
//! prepared; a large body being tokenized; an answer being attributed) takes a core from one
//! of them, and the other spins through its time slice: on this 2-core machine, 20 adapters
//! loaded at once while 30 sequences decoded cut throughput by a third (`lora-bench`, 1,000
//! adapters). So threads doing such work lower their own scheduling priority
//! ([`background_priority`], nice 10): the kernel still runs them whenever a core is free,
//! but the engine's threads get the cores when both want them.
//!
//! This module and `qgemm` are the only ones allowed `unsafe`: two calls into libc.

/// Caps glibc malloc at two arenas (Linux with glibc; elsewhere nothing to do).
#[allow(unsafe_code)]
pub(crate) fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: `mallopt` only sets an allocator parameter; it is called once at start,
        // before the worker starts any thread, and takes no pointer.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// The nice value of threads doing background work (see the module docs).
pub const BACKGROUND_NICE: i32 = 10;

/// Lowers the calling thread's scheduling priority to [`BACKGROUND_NICE`] (Linux, where the
/// nice value is per thread; elsewhere nothing). A thread cannot raise it again without
/// privileges, so call it only on threads that do background work for their whole life.
#[allow(unsafe_code)]
pub fn background_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `gettid` takes nothing; `setpriority` on one thread id sets a scheduling
        // attribute and takes no pointer. A failure (a sandbox forbidding it) leaves the
        // priority as it was, which is only slower.
        unsafe {
            let tid = libc::gettid();
            if let Ok(tid) = libc::id_t::try_from(tid) {
                libc::setpriority(libc::PRIO_PROCESS, tid, BACKGROUND_NICE);
            }
        }
    }
}

/// Runs `work` on tokio's blocking pool at background priority: every blocking task of the
/// server goes through here.
pub fn spawn_background<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> tokio::task::JoinHandle<T> {
    tokio::task::spawn_blocking(move || {
        background_priority();
        work()
    })
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The calling thread's nice value, from `/proc/thread-self/stat` (field 19).
    fn nice() -> Option<i32> {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
        // The command name (field 2) may hold spaces; the fields after it are plain.
        let rest = stat.rsplit_once(')')?.1;
        rest.split_whitespace().nth(16)?.parse().ok()
    }

    #[test]
    fn background_threads_lower_their_own_priority_only() {
        let before = nice();
        let inside = std::thread::spawn(|| {
            super::background_priority();
            nice()
        })
        .join()
        .ok()
        .flatten();
        assert_eq!(inside, Some(super::BACKGROUND_NICE));
        // The rest of the process (this thread) keeps its priority.
        assert_eq!(nice(), before);
    }
}
