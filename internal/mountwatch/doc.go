// Package mountwatch sees every mount, unmount and remount on the host and
// says, as far as the kernel tells, who did it.
//
// It has three layers:
//
//   - ParseMountinfo: a pure parser of /proc/<pid>/mountinfo bytes.
//   - Diff: a pure comparison of two mount tables that yields Events
//     (Mount, Unmount, RemountRO, RemountRW, Remount), keyed on
//     (mount id, source, mount point) because the kernel reuses mount ids.
//   - Watchers (Linux only): a fanotify watcher (FAN_MNT_ATTACH/DETACH,
//     kernel ≥ 6.15) that knows the mounting pid, and a poll(2) watcher on
//     <procRoot>/self/mountinfo that works on every kernel but knows no pid.
//     Open picks the best one at run time.
//
// Consumers depend on the small Source interface; Fake implements it for
// tests. See docs/mountlog.md for what is caught and what is not.
package mountwatch
