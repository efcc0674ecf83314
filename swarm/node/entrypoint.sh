#!/bin/sh
# Starts the node's Docker engine (dockerd) in the foreground.
#
# SWARM_REGISTRY      the in-swarm registry(s) to trust over plain HTTP, comma-separated
#                     (e.g. "node1:5000"); each becomes --insecure-registry.
# DOCKERD_STORAGE_DRIVER  overrides the storage driver. By default overlay2, unless
#                     /var/lib/docker is on overlayfs (no volume mounted there), where
#                     overlay2 cannot nest: fuse-overlayfs if /dev/fuse exists, else vfs.
# DOCKERD_CGROUP_PARENT  overrides the cgroup the node's containers are created under. By
#                     default, on a cgroup v1 host (the host's /sys/fs/cgroup mounted in, host
#                     cgroup namespace), the node container's own cgroup: a memory or CPU limit
#                     on the node then bounds its containers too, as a machine's RAM would, and
#                     removing the node container removes their cgroups with it.
# Arguments are passed on to dockerd.
set -eu

# A node container started again after `docker kill` still has the last engine's pid file
# and sockets; nothing of that engine runs any more (this is a new PID namespace).
rm -rf /var/run/docker.pid /var/run/docker.sock /var/run/docker

driver="${DOCKERD_STORAGE_DRIVER:-}"
if [ -z "$driver" ]; then
    fstype="$(stat -f -c %T /var/lib/docker)"
    if [ "$fstype" != "overlayfs" ]; then
        driver=overlay2
    elif [ -c /dev/fuse ]; then
        driver=fuse-overlayfs
    else
        driver=vfs
    fi
fi

cgroup_parent="${DOCKERD_CGROUP_PARENT:-}"
if [ -z "$cgroup_parent" ]; then
    own="$(sed -n 's/^[0-9]*:memory:\(.*\)$/\1/p' /proc/1/cgroup)"
    if [ -n "$own" ] && [ "$own" != "/" ]; then
        cgroup_parent="$own"
    fi
fi

set -- --host=unix:///var/run/docker.sock --storage-driver="$driver" "$@"
if [ -n "$cgroup_parent" ]; then
    set -- --cgroup-parent="$cgroup_parent" "$@"
fi
for registry in $(echo "${SWARM_REGISTRY:-}" | tr ',' ' '); do
    set -- "$@" --insecure-registry="$registry"
done

echo "swarm-node: dockerd $*" >&2
exec dockerd "$@"
