"""Push (RFC 8620 §7, RFC 8887): one stream of StateChange events per account,
read by EventSource, WebSocket and PushSubscription.

- `changes`: the StateChange value, coalescing, pushState strings;
- `positions`: the database reads (account modseqs, types that moved since);
- `feed`: the process-local hub and `feed_subscribe` / `account_changes`, the
  one async interface every push transport reads;
- `source_poll` (embedded: poll Account.modseq) and `source_channels`
  (REDIS_URL: a channels_redis group per account) feed the hub;
- `watch`: the cross-process registry of watched accounts (PushWatch rows
  heartbeated by each hub) that the IMAP IDLE listener reads;
- `publish`: the after-commit subscriber that sends each StateChange out of the
  process that wrote it;
- `relayed`: passthrough accounts' changes relayed from their upstream JMAP
  server (backends.jmap.push_relay), keyed by proxy accountId, carried to the
  web processes (channel group or cache mailbox) and to PushSubscriptions;
- `eventsource`, `websocket`, `ws_auth`, `routing`: the transports.
"""
