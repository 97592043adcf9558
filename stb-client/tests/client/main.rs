//! Integration tests of the client library.
