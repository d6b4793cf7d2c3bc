"""symgrad's benchmark suite: every workload against the peers a user would pick instead.

``python -m benchmarks`` runs it all and writes ``docs/performance.md`` and its plots;
``python -m benchmarks.compile_scaling`` runs the compile-time scaling study alone. The suite
reports; it never fails a build.
"""
