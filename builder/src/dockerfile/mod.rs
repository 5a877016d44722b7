//! The Dockerfile frontend: syntax from parse-dockerfile, then parser
//! directives, heredocs, flags and JSON forms, into typed instructions with
//! their file:line:column (OWNER: dockerfile helper). Values stay unexpanded:
//! the solver expands them with each stage's ARG/ENV (crate::expand).
