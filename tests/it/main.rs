//! Integration tests: one binary, one module per capability. Every server a test uses
//! (HTTP, SMTP) is started inside the test on 127.0.0.1:0.

mod support;

mod atom;
mod channels;
mod check;
mod cluster;
mod corpora;
mod crash;
mod daemon;
mod delivery;
mod digests;
mod end_to_end;
mod failing_feeds;
mod fulltext;
mod hostile;
mod ops;
mod pg_tls;
mod places;
mod polling;
mod postgres;
mod rules_cli;
mod senders;
mod stories;
mod translit;
