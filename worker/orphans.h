// Processes that a command leaves behind outside its process group: a daemon
// (setsid, a double fork), or a background job that outlives the command.
// Killing the command's process group misses them, so the worker is made a
// child subreaper: when their parent exits, the kernel re-parents them to the
// worker instead of init, and EndOrphans ends every child the worker has.
//
// Why a subreaper and not a cgroup per item: a cgroup would also hold
// processes that were never children, but creating one needs a delegated
// cgroup subtree (root, or systemd's Delegate=), which a batch job on a shared
// machine or in a container seldom has. PR_SET_CHILD_SUBREAPER needs no
// privilege and no setup, on any Linux since 3.4.
#pragma once

namespace shoal {

// Makes this process the subreaper of everything it starts. Not inherited
// by its children. False if the kernel refuses (then orphans go to init).
bool BecomeSubreaper();

// SIGKILLs and reaps every child of this process, then the children those
// leave to it in turn, until none is left (bounded: about two seconds for a
// tree that will not die). Returns how many processes it reaped. It waits
// for any child (waitpid(-1)), so call it only when no child is meant to
// live: between items (after the handler reaped its own child) and at exit.
// With no child at all it costs one system call.
//
// Async-signal-safe (no allocation, no stdio, no locks): the SIGTERM handler
// of the worker calls it before _exit.
int EndOrphans();

}  // namespace shoal
