//! Keeping the worker's resident memory flat under load.
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
//! This module and `qgemm` are the only ones allowed `unsafe`: one call into libc.

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
