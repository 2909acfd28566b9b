"""`env`: the bindings user code receives, one module per binding kind.

Modules:
    env         `Env` and `build_env`: the one place a config becomes an `env` object
    workflows   a `[[workflows]]` binding and its instance handles

May import: engine (a workflow binding drives it), worker and the leaves.
"""
