"""The stack's shared test support: a throwaway Postgres (`postgres`) and the pytest plugin
every package's tests load (`pytest_plugin`)."""
