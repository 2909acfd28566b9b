"""`env`: the bindings user code receives, one module per binding kind.

Modules:
    env         `Env` and `build_env`: the one place a config becomes an `env` object
    workflows   a `[[workflows]]` binding and its instance handles
    kv          a `[[kv_namespaces]]` binding, over wrangler's local state
    d1          a `[[d1_databases]]` binding, over wrangler's local state
    d1_migrations  D1 SQL files and migrations, as `wrangler d1 … --local` handles them
    r2          a `[[r2_buckets]]` binding, over wrangler's local state
    miniflare   wrangler's local state: Miniflare's v3 layout, file naming, id derivation

May import: engine (a workflow binding drives it), worker and the leaves.
"""
