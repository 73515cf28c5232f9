#!/usr/bin/env bash
# Generates the codecs of MesosCodecs from Protos/ into the folder given (default Sources/MesosCodecs/Generated):
# protoc writes the schema as a FileDescriptorSet, and mesos-codegen (a target of this package) turns it into
# non-generic JSON and binary decoders and encoders for every message reachable from scheduler/executor Call/Event.
# Usage: scripts/generate-codecs.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-Sources/MesosCodecs/Generated}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out"/Generated*.swift
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
protos=$(cd Protos && find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)
(cd Protos && protoc --include_imports --descriptor_set_out="$tmp" $protos)
swift build --product mesos-codegen >&2
"$(swift build --show-bin-path)/mesos-codegen" "$tmp" "$out"
