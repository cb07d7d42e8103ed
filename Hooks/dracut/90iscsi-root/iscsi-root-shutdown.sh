#!/bin/sh
# dracut shutdown hook of iscsi-root (sourced by dracut's shutdown when dracut's own
# shutdown ramdisk is in use): the root is unmounted, so the supervisor may log out.
if [ -x /usr/sbin/iscsi-root ]; then
    /usr/sbin/iscsi-root logout --force || :
fi
