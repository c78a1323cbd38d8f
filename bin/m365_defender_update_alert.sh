#!/bin/sh
# Launcher for "m365_defender_update_alert" (TA-m365-defender). splunkd runs bin/<name>.sh;
# this picks the binary built for this machine and replaces itself with it
# (exec), so splunkd's signals, stdin, stdout and exit code reach the binary.
name=m365_defender_update_alert
here=$(cd -- "$(dirname -- "$0")" && pwd -P) || exit 1
case "$(uname -s)" in
Linux) os=linux ;;
Darwin) os=darwin ;;
*) os= ;;
esac
case "$(uname -m)" in
x86_64 | amd64) arch=x86_64 ;;
aarch64 | arm64) if [ "$os" = darwin ]; then arch=arm64; else arch=aarch64; fi ;;
*) arch= ;;
esac
if [ -z "$os" ] || [ -z "$arch" ]; then
	echo "FATAL msg=\"unsupported platform\" input=$name os=\"$(uname -s)\" arch=\"$(uname -m)\" supported=\"linux_x86_64 linux_aarch64 darwin_x86_64 darwin_arm64 windows_x86_64\"" >&2
	exit 1
fi
bin="$here/${os}_$arch/m365defender"
if [ ! -x "$bin" ]; then
	echo "FATAL msg=\"binary not found or not executable\" input=$name path=\"$bin\"" >&2
	exit 1
fi
exec "$bin" "$name" "$@"
