// MesosLocal: a local Mesos 1.11 master with agents that really run tasks. See DESIGN.md.
