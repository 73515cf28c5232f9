#!/bin/sh
# The demo task: runs in its Mesos sandbox, where the agent's fetcher extracted this directory.
echo "Hello from a Mesos task on $(hostname)."
echo "Sandbox: $MESOS_SANDBOX"
echo "Shipped with it:"
ls -l app
echo
echo "words in app/poem.txt: $(wc -w < app/poem.txt)"
