"""The platform's own definitions, instance-wide (every location's runs): failure and queue
alerts, and the retention purge. They live in the fanout location for now (docs/alerts.md says
why); nothing in them depends on fanout's jobs."""
