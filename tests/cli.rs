//! End-to-end tests of the `gradlab` binary.
